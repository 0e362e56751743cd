/**
 * `adcreative generate "brief"`: the whole generation without Slack, for use and review.
 * Writes DIR/<label>-<format>.png, DIR/variants.json and DIR/contact-sheet.png.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, type CommandIO, intArg, type ParsedArgs } from '../cli/command.ts';
import { createProgress, type Progress } from '../cli/progress.ts';
import type { Encoder } from '../clip/types.ts';
import { type Config, config, dataPath, libraryUri } from '../config.ts';
import { describeError, UsageError } from '../errors.ts';
import { contactSheet } from '../image/compose.ts';
import type { Library } from '../library/types.ts';
import { createLogger, type Logger } from '../log.ts';
import { CHANNELS, type ChannelName, FORMATS, type FormatName, isChannel, splitFormats, VARIANTS_RANGE } from '../vocabulary.ts';
import { audienceInspiration, audienceOptions, forAudiences } from './audiences.ts';
import { brandScoreLine } from './brand-score.ts';
import { loadBrand } from './brands.ts';
import { inspire } from './inspire.ts';
import { localeSummary, writeLocaleFiles } from './locale-files.ts';
import { parseLocales } from './locales.ts';
import { createGenerator } from './open.ts';
import { costOf, describeCost, type GenerateCost } from './pricing.ts';
import { translatorFor } from './translate.ts';
import type { GenerateProgress, GenerateResult } from './types.ts';

export interface GenerateCommandDeps {
  cfg?: () => Config;
  /** Default: the configured model, or on a first run the synthetic one (see defaultEncoder). */
  openEncoder?: (cfg: Config, logger: Logger, o: { explicit: boolean; say: (s: string) => void }) => Promise<Encoder>;
  openLibrary?: (cfg: Config, encoder: Encoder, logger: Logger) => Promise<Library>;
}

const USAGE = `"brief" [--brand NAME] [--variants N] [--formats ${FORMATS.join(',')}] [--channel ${CHANNELS.join('|')}] [--out DIR (default $DATA_DIR/generated/<time>)] [--model DIR] [--feedback TEXT]… [--locales de,fr,zh-CN] [--audiences "students; parents" (then --variants N is per audience)]`;

function parseFormats(raw: string | undefined, defaults: FormatName[]): FormatName[] {
  if (raw === undefined) return defaults;
  const { formats, unknown } = splitFormats(raw);
  if (unknown.length || formats.length === 0) {
    throw new UsageError(
      `--formats: unknown format ${unknown.map((b) => JSON.stringify(b)).join(', ') || '(none given)'}; expected a comma-separated list of: ${FORMATS.join(', ')}`,
    );
  }
  return formats;
}

const fmt = (x: number | null) => (x === null ? '–' : x.toFixed(2));

/**
 * The configured model; on a first run with none (and no --model), the synthetic tiny model
 * that `npm start` also makes, generated once under DATA_DIR, with a warning that says so.
 */
async function defaultEncoder(cfg: Config, logger: Logger, o: { explicit: boolean; say: (s: string) => void }): Promise<Encoder> {
  const { openEncoder } = await import('../clip/open.ts');
  if (o.explicit) return openEncoder(cfg, { logger });
  const { chooseModel, synthesizeTiny } = await import('../clip/first-run.ts');
  const model = await chooseModel(
    cfg,
    async (p) => {
      o.say(`no CLIP model at ${cfg.clipModelDir}: generating the synthetic tiny model once into ${p.dir} (a few seconds)…`);
      await synthesizeTiny(p);
    },
    logger,
  );
  return openEncoder(model.cfg, { logger });
}

async function defaultLibrary(cfg: Config, encoder: Encoder, logger: Logger): Promise<Library> {
  const { openLibrary } = await import('../library/open.ts');
  const { libraryStorageOptions } = await import('../object-storage.ts');
  const uri = libraryUri(cfg);
  if (!/^[a-z0-9+]+:\/\//i.test(uri) && !existsSync(uri)) throw new Error(`no library at ${uri}`);
  return openLibrary({ uri, storageOptions: libraryStorageOptions(cfg), encoder, logger });
}

export function makeGenerateCommand(deps: GenerateCommandDeps = {}): Command {
  const cmd: Command = {
    name: 'generate',
    summary: 'Generate ranked ad variants for a brief and write every format, variants.json and a contact sheet',
    usage: USAGE,
    positionals: true,
    options: {
      brand: { type: 'string' },
      variants: { type: 'string' },
      formats: { type: 'string' },
      channel: { type: 'string' },
      out: { type: 'string' },
      model: { type: 'string' },
      feedback: { type: 'string', multiple: true },
      audiences: { type: 'string' },
      locales: { type: 'string' },
    },
    async run(args: ParsedArgs, io: CommandIO) {
      const brief = args.positionals.join(' ').trim();
      if (!brief) throw new UsageError(`a brief is required\nusage: adcreative generate ${USAGE}`);
      const baseCfg = (deps.cfg ?? config)();
      const cfg: Config = typeof args.values.model === 'string' ? { ...baseCfg, clipModelDir: args.values.model } : baseCfg;
      // Without options, what the bot would make of the same brief (DEFAULT_VARIANTS, DEFAULT_FORMATS, DEFAULT_AD_CHANNEL).
      const perAudience = intArg(args, 'variants', cfg.defaultVariants, VARIANTS_RANGE.min, VARIANTS_RANGE.max);
      // --variants is per audience; the total stays within what one round may have (the bot's rule).
      const segments =
        typeof args.values.audiences === 'string'
          ? audienceOptions({
              raw: args.values.audiences,
              variants: perAudience,
              given: args.values.variants !== undefined,
              max: VARIANTS_RANGE.max,
            })
          : undefined;
      const audiences = segments?.audiences;
      const count = segments?.variants ?? perAudience;
      const formats = parseFormats(args.values.formats as string | undefined, cfg.defaultFormats);
      const brandName = args.values.brand as string | undefined;
      const kit = brandName ? loadBrand(cfg.brandsDir, brandName) : undefined;
      const channelRaw = (args.values.channel as string | undefined) ?? kit?.defaultChannel ?? cfg.defaultAdChannel;
      if (!isChannel(channelRaw))
        throw new UsageError(`--channel: unknown channel ${JSON.stringify(channelRaw)}; expected one of: ${CHANNELS.join(', ')}`);
      const channel: ChannelName = channelRaw;
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
      const out = resolve((args.values.out as string | undefined) ?? dataPath(cfg, 'generated', stamp));
      const feedback = ((args.values.feedback as string[] | undefined) ?? []).map((f) => f.trim()).filter(Boolean);
      // Checked before the model loads: a bad tag is named at once.
      const locales = typeof args.values.locales === 'string' ? parseLocales(args.values.locales).map((l) => l.tag) : undefined;
      // Progress lines tell a person what happens; JSON logs only for warnings unless LOG_LEVEL asks.
      const logger = createLogger({ level: process.env.LOG_LEVEL ? cfg.logLevel : 'warn' });
      const say = (s: string) => io.stderr.write(`${s}\n`);

      const encoder = await (deps.openEncoder ?? defaultEncoder)(cfg, logger, { explicit: typeof args.values.model === 'string', say });
      let library: Library | undefined;
      try {
        if (encoder.info().synthetic)
          say(
            'warning: the CLIP model is SYNTHETIC: relevance and novelty scores are meaningless (the real model: npm run -s adcreative -- models fetch)',
          );
        try {
          library = await (deps.openLibrary ?? defaultLibrary)(cfg, encoder, logger);
        } catch (e) {
          say(`no creative library (${describeError(e)}): generating without inspiration; novelty counts every variant as new`);
        }
        const lib = library;
        // Made (its settings checked) before the brief is translated: a bad setting costs nothing.
        const generator = createGenerator({
          cfg,
          encoder,
          logger,
          maxSimilarity: lib ? (e) => lib.maxSimilarity(e) : async (e) => e.map(() => Number.NaN),
        });
        // Embedded once: the library search and the ranking both use it.
        const found = await inspire({ brief, brand: kit?.name, k: 5, encoder, translator: translatorFor(cfg), library }).catch(
          (e: unknown) => sayCostAndThrow(e, costOf(e), say),
        );
        if (found.query.note) say(`library search: ${found.query.note}`);
        if (found.state === 'unavailable' && library) say(`library search failed (${found.detail}): generating without inspiration`);
        else if (library)
          say(`inspiration: ${found.inspiration.length} creative${found.inspiration.length === 1 ? '' : 's'} from the library`);
        const { inspiration, embedding: briefEmbedding } = found;
        say(
          `generating ${count} variant${count === 1 ? '' : 's'}${audiences ? ` for each of ${audiences.length} audiences (${audiences.join('; ')})` : ''} (${formats.join(', ')}) for ${channel}${kit ? `, brand ${kit.name}` : ''}: copy ${generator.providers.copy}, images ${generator.providers.images}`,
        );
        const bars = new Map<string, Progress>();
        const onProgress = (p: GenerateProgress) => {
          if (p.stage === 'writing' || p.stage === 'ranking') {
            if (p.done === 0) say(`${p.stage}…`);
            return;
          }
          let bar = bars.get(p.stage);
          if (!bar) {
            bar = createProgress(p.stage, p.total, { stream: io.stderr, unit: p.stage === 'drawing' ? 'images' : 'variants' });
            bars.set(p.stage, bar);
          }
          if (p.done > 0) bar.tick(1);
          if (p.done === p.total) bar.done();
        };
        // Each audience's own past winners first (the library's audience tags).
        const inspirationFor = audienceInspiration({
          library: async () => lib,
          embedding: briefEmbedding,
          brand: kit?.name,
          k: 5,
          general: inspiration,
        });
        const result: GenerateResult = await forAudiences(generator, audiences, { inspirationFor })
          .generate({
            brief,
            billedBefore: found.query.billed ? [found.query.billed] : undefined,
            ...(found.query.text !== brief ? { searchText: found.query.text } : {}),
            brand: kit?.name,
            channel,
            formats,
            count,
            inspiration,
            feedback,
            briefEmbedding,
            onProgress,
            ...(locales ? { locales } : {}),
          })
          // The generator's cost counts the translation (billedBefore); without one, the translation alone.
          .catch((e: unknown) => sayCostAndThrow(e, costOf(e) ?? found.query.cost, say));
        await library?.close();
        library = undefined;
        return await writeResult(result, { out, formats, brief, io, brand: kit?.name, channel, audiences });
      } finally {
        // Also when generation failed part-way (a missing font, a cancelled run).
        await library?.close().catch(() => {});
        await encoder.close();
      }
    },
  };
  return cmd;
}

/** A failed run still says what it spent: requests billed before the failure cost money. */
function sayCostAndThrow(e: unknown, spent: GenerateCost | undefined, say: (s: string) => void): never {
  if (spent && spent.textCalls + spent.imageCalls > 0) say(`spent before the failure: ${describeCost(spent)}`);
  throw e;
}

async function writeResult(
  result: GenerateResult,
  o: { out: string; formats: FormatName[]; brief: string; io: CommandIO; brand?: string; channel: ChannelName; audiences?: string[] },
): Promise<number> {
  const say = (s: string) => o.io.stderr.write(`${s}\n`);
  for (const f of result.failures) say(`failed (${f.stage}${f.label ? ` ${f.label}` : ''}): ${f.message}`);
  if (result.variants.length === 0) {
    say(`no variant could be made; nothing written; cost ${describeCost(result.cost)}`);
    return 1;
  }
  mkdirSync(o.out, { recursive: true });
  const manifest = {
    brief: o.brief,
    // `adcreative export --variants` reads the brand kit (business name, logo) from here.
    brand: o.brand ?? null,
    channel: o.channel,
    ...(o.audiences ? { audiences: o.audiences } : {}),
    offline: result.offline,
    cost: result.cost,
    failures: result.failures,
    variants: result.variants.map((v) => {
      const files: Record<string, string> = {};
      for (const f of o.formats) {
        const bytes = v.images[f];
        if (!bytes) continue;
        const name = `${v.label}-${f}.png`;
        writeFileSync(join(o.out, name), bytes);
        files[f] = name;
      }
      return {
        id: v.id,
        label: v.label,
        headline: v.headline,
        body: v.body,
        cta: v.cta,
        concept: v.concept,
        scores: v.scores,
        reason: v.reason,
        offline: v.offline,
        flags: v.flags,
        ...(v.audience ? { audience: v.audience } : {}),
        files,
        ...writeLocaleFiles(v, o.formats, o.out),
      };
    }),
  };
  writeFileSync(join(o.out, 'variants.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const sheet = await contactSheet(
    result.variants.map((v) => ({
      image: v.preview,
      title: `${v.label}: ${v.headline}`,
      lines: [
        `relevance  ${fmt(v.scores.relevance)}`,
        `novelty    ${fmt(v.scores.novelty)}`,
        `diversity  ${fmt(v.scores.diversity)}`,
        `preference ${fmt(v.scores.preference)}`,
        `total      ${fmt(v.scores.total)}`,
        ...(v.scores.brand ? [`brand      ${v.scores.brand.score === null ? 'n/a' : fmt(v.scores.brand.score)}`] : []),
      ],
    })),
    { title: `${o.brief.slice(0, 90)}${result.offline ? '  (offline drafts)' : ''}` },
  );
  writeFileSync(join(o.out, 'contact-sheet.png'), sheet);

  const lines = result.variants.flatMap((v) => [
    `  ${v.label}${v.audience ? `  (${v.audience})` : ''}  total ${fmt(v.scores.total)}  ${v.headline}  [${v.cta}]${v.flags.some((f) => /trimmed|shortened/.test(f)) ? '  (trimmed)' : ''}${v.scores.brand ? `\n     ${brandScoreLine(v.scores.brand)}` : ''}`,
    ...[localeSummary(v)].filter((l): l is string => l !== undefined),
  ]);
  o.io.stdout.write(
    [
      `${result.variants.length} variant${result.variants.length === 1 ? '' : 's'} written to ${o.out}${result.offline ? ' (offline drafts)' : ''}:`,
      ...lines,
      `  variants.json, contact-sheet.png; cost ${describeCost(result.cost)}`,
      '',
    ].join('\n'),
  );
  return 0;
}

export const commands: Command[] = [makeGenerateCommand()];
