/**
 * First run with no CLIP model: a fresh clone must work without downloading weights. Where no
 * model is configured (and no remote encoder), the synthetic `tiny` model is generated once
 * under DATA_DIR (never into the real model's folder) and used, with a loud notice naming the
 * command that gets the real model. The sandbox (`npm start`) and `adcreative generate` both
 * start this way.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type Config, dataPath } from '../config.ts';
import { type Logger, silentLogger } from '../log.ts';
import { onnxFile, type PrecisionSetting } from './model-dir.ts';

/** The synthetic model's folder: always under DATA_DIR, never the real model's folder. */
export function syntheticModelDir(cfg: Pick<Config, 'dataDir'>): string {
  return dataPath(cfg, 'models', 'clip-tiny');
}

export interface ModelFacts {
  present: boolean;
  synthetic: boolean;
}

/**
 * A model folder counts when it has config.json and both ONNX towers for the precision asked
 * (`auto` needs the fp32 files: the CPU's, and any GPU's fallback).
 */
export function modelPresence(dir: string, precision: PrecisionSetting = 'fp32'): ModelFacts {
  const p = precision === 'auto' ? 'fp32' : precision;
  const files = ['config.json', onnxFile('text', p), onnxFile('vision', p)];
  if (!files.every((f) => existsSync(join(dir, f)))) return { present: false, synthetic: false };
  try {
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { adcreative_synthetic?: unknown };
    return { present: true, synthetic: json.adcreative_synthetic === true };
  } catch {
    return { present: false, synthetic: false };
  }
}

/** What a person should know about the model in use, and the command that gets the real one. */
export interface ModelNotice {
  level: 'warn';
  text: string;
  command: string;
}

export interface ModelChoice {
  /** The configuration to build the services with (CLIP_MODEL_DIR possibly swapped). */
  cfg: Config;
  banner?: ModelNotice;
  /** True when this start generated the synthetic model. */
  synthesized: boolean;
}

export type SynthesizeModel = (p: { arch: 'tiny'; dir: string; logger: Logger }) => Promise<void>;

/**
 * Keeps a real model (or a remote encoder) when there is one; otherwise uses the synthetic
 * `tiny` model under DATA_DIR, generating it once.
 */
export async function chooseModel(cfg: Config, synthesize: SynthesizeModel, logger: Logger = silentLogger): Promise<ModelChoice> {
  if (cfg.clipEndpoint) return { cfg, synthesized: false };
  const fetchCmd = 'npm run -s adcreative -- models fetch';
  const configured = resolve(cfg.clipModelDir);
  const here = modelPresence(configured, cfg.clipPrecision);
  if (here.present && !here.synthetic) return { cfg, synthesized: false };
  if (here.present) {
    return {
      cfg,
      synthesized: false,
      banner: {
        level: 'warn',
        text: `CLIP: the synthetic model at ${shown(configured)} is loaded, so similarities and rankings are meaningless`,
        command: fetchCmd,
      },
    };
  }
  const dir = syntheticModelDir(cfg);
  if (resolve(dir) === configured) {
    // Only reachable when someone points CLIP_MODEL_DIR into DATA_DIR's synthetic folder; still ours.
    logger.info('CLIP_MODEL_DIR is the synthetic model folder', { dir });
  }
  let synthesized = false;
  if (!modelPresence(dir, 'fp32').present) {
    logger.info('no CLIP model found; generating the synthetic tiny model', { configured, dir });
    mkdirSync(dirname(dir), { recursive: true });
    await synthesize({ arch: 'tiny', dir, logger });
    if (!modelPresence(dir, 'fp32').present) throw new Error(`the synthetic model was not written to ${dir}`);
    synthesized = true;
  }
  return {
    cfg: { ...cfg, clipModelDir: dir, clipPrecision: 'fp32' },
    synthesized,
    banner: {
      level: 'warn',
      text: `CLIP: no model at ${shown(configured)}, so the synthetic tiny model is used and similarities and rankings are meaningless`,
      command: fetchCmd,
    },
  };
}

/** The default synthesizer: the project's own seeded `tiny` model (a few seconds). */
export const synthesizeTiny: SynthesizeModel = async ({ arch, dir, logger }) => {
  const { synthesizeModel } = await import('./synth/index.ts');
  await synthesizeModel({ arch, outDir: dir, onProgress: (msg) => logger.info(`synthetic model: ${msg}`) });
};

function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}
