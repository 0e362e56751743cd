import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Command, parseCommandArgs } from '../../../src/cli/command.ts';
import { Adapter } from '../../../src/clip/adapter.ts';
import { loadConfig } from '../../../src/config.ts';
import { syntheticPairs } from '../../../src/learn/adapter-train.ts';
import { makeLearningCommands } from '../../../src/learn/commands.ts';
import { followPreferenceModel, readLibrarySpace } from '../../../src/learn/learning.ts';
import type { VoteRecord } from '../../../src/learn/preference.ts';
import { type LearningSources, memoryPairSource, type PairRow, type RoundSummary } from '../../../src/learn/sources.ts';
import { TasteModel } from '../../../src/learn/taste.ts';
import { retrainDue, startLearningSchedule } from '../../../src/learn/train-schedule.ts';
import { createRng, normalizeRows } from '../../../src/linalg.ts';
import { createLogger, silentLogger } from '../../../src/log.ts';

const D = 32;

function library(n: number): PairRow[] {
  const p = syntheticPairs(n, D, { seed: 21, noise: 0.4 });
  return Array.from({ length: n }, (_, i) => ({
    id: `c${i}`,
    textEmbedding: p.text.slice(i * D, (i + 1) * D),
    imageEmbedding: p.image.slice(i * D, (i + 1) * D),
    impressions: 1000,
    clicks: 10 + (i % 7),
  }));
}

function votes(n: number): VoteRecord[] {
  const rng = createRng(4);
  const unit = () => {
    const v = Float32Array.from({ length: D }, () => rng.normal());
    normalizeRows(v, 1, D);
    return v;
  };
  const out: VoteRecord[] = [];
  for (let r = 0; out.length < n; r++) {
    const shown = [0, 1, 2].map((i) => ({ variantId: `r${r}-${i}`, imageEmbedding: unit(), textEmbedding: unit() }));
    for (let u = 0; u < 3 && out.length < n; u++) out.push({ roundId: `r${r}`, chosenVariantId: shown[(r + u) % 3].variantId, shown });
  }
  return out;
}

const roundList: RoundSummary[] = [
  {
    roundId: 'r1',
    briefId: 'b1',
    status: 'closed',
    variants: [
      { variantId: 'v1', label: 'A', scores: { relevance: 0.3, novelty: 0.5, preference: null }, votes: 2, winner: true },
      { variantId: 'v2', label: 'B', scores: { relevance: 0.25, novelty: 0.4, preference: null }, votes: 1, winner: false },
    ],
  },
];

describe('learning commands', () => {
  let dir: string;
  let rows: PairRow[];
  let closed: number;
  let cmds: Command[];
  let env: Record<string, string>;

  const sources = (): LearningSources => ({
    model: { name: 'test/clip', dims: D },
    library: memoryPairSource(rows),
    votes: { votes: async () => votes(60) },
    rounds: { rounds: async () => roundList },
    close: async () => {
      closed++;
    },
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'learning-cli-'));
    rows = library(300);
    closed = 0;
    env = { DATA_DIR: dir, PREFERENCE_MIN_VOTES: '100' };
    cmds = makeLearningCommands({ config: () => loadConfig(env), openSources: async () => sources(), logger: silentLogger });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function run(name: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const cmd = cmds.find((c) => c.name === name)!;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (b) => {
      out += b;
    });
    stderr.on('data', (b) => {
      err += b;
    });
    const code = await cmd.run(parseCommandArgs(cmd, argv), { stdout, stderr, stdin: new PassThrough() });
    return { code, out, err };
  }

  it('train adapter: trains, reports recall before and after, saves, and re-projects the library in place', async () => {
    const raw0 = Float32Array.from(rows[0].imageEmbedding);
    const r = await run('train adapter', ['--batch', '64', '--seed', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Before \(raw CLIP\): text→image R@1 \d+\.\d%/);
    expect(r.out).toMatch(/After \(adapter\):/);
    expect(r.err).toMatch(/epoch 1: loss/);
    const path = join(dir, 'adapter.json');
    const a = Adapter.load(path);
    expect(a.model).toBe('test/clip');
    expect(a.meta.libraryRows).toBe(300);
    expect(a.meta.after!.textToImage.r1).toBeGreaterThan(a.meta.before!.textToImage.r1);
    expect(r.out).toContain(`Re-projected 300 library rows`);
    // The stored embedding now equals the adapter applied to the raw one.
    const want = a.applyImage(raw0);
    rows[0].imageEmbedding.forEach((x, i) => {
      expect(x).toBeCloseTo(want[i], 5);
    });
    expect(readLibrarySpace({ dataDir: dir })).toMatchObject({ model: 'test/clip', adapter: a.id });
    expect(closed).toBe(1);

    // Retraining starts again from raw CLIP (the stored rows are un-applied first, up to float rounding):
    // the same seed lands on the same result, not on an adapter stacked on the old one.
    const again = await run('train adapter', ['--batch', '64', '--seed', '3', '--quiet']);
    expect(again.code).toBe(0);
    const b = Adapter.load(path);
    expect(b.meta.before!.textToImage.r1).toBeCloseTo(a.meta.before!.textToImage.r1, 5);
    expect(b.meta.after!.textToImage.r1).toBeCloseTo(a.meta.after!.textToImage.r1, 1);
    let maxDiff = 0;
    b.textDelta.forEach((x, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(x - a.textDelta[i]));
    });
    expect(maxDiff).toBeLessThan(0.05);

    // Turning the adapter off and re-projecting takes the library back to raw CLIP.
    env.CLIP_ADAPTER = 'off';
    const back = await run('train reproject', []);
    expect(back.out).toContain(`Re-projected 300 rows from ${b.id} to raw CLIP`);
    rows[0].imageEmbedding.forEach((x, i) => {
      expect(x).toBeCloseTo(raw0[i], 4);
    });
  });

  it('train adapter records the text encoder of the captions it learned from', async () => {
    const textModel = 'sentence-transformers/clip-ViT-B-32-multilingual-v1';
    cmds = makeLearningCommands({
      config: () => loadConfig(env),
      openSources: async () => ({ ...sources(), model: { name: 'test/clip', dims: D, textModel } }),
      logger: silentLogger,
    });
    expect((await run('train adapter', ['--batch', '64', '--seed', '3', '--quiet', '--no-reproject'])).code).toBe(0);
    const a = Adapter.load(join(dir, 'adapter.json'));
    expect(a.meta.textModel).toBe(textModel);
    expect(() => a.assertCompatible({ model: 'test/clip', dims: D })).toThrow(
      expect.objectContaining({ code: 'ADAPTER_TEXT_MODEL_MISMATCH' }),
    );
  });

  it('train adapter --no-reproject keeps the adapter the library is in, so a later run can still undo it', async () => {
    const raw0 = Float32Array.from(rows[0].textEmbedding);
    await run('train adapter', ['--batch', '64', '--quiet', '--epochs', '2', '--seed', '1']);
    const a = Adapter.load(join(dir, 'adapter.json'));
    const r = await run('train adapter', ['--batch', '64', '--quiet', '--epochs', '2', '--seed', '2', '--no-reproject']);
    expect(r.out).toMatch(/were not re-projected/);
    expect(readLibrarySpace({ dataDir: dir })?.adapter).toBe(a.id);
    expect(existsSync(join(dir, 'adapters', `${a.id}.json`))).toBe(true);
    const third = await run('train adapter', ['--batch', '64', '--quiet', '--epochs', '2', '--seed', '3']);
    expect(third.code).toBe(0);
    const c = Adapter.load(join(dir, 'adapter.json'));
    const want = c.applyText(raw0);
    rows[0].textEmbedding.forEach((x, i) => {
      expect(x).toBeCloseTo(want[i], 4);
    });
  });

  it('train adapter: bad flags are usage errors', () => {
    const cmd = cmds.find((c) => c.name === 'train adapter')!;
    expect(() => parseCommandArgs(cmd, ['--bogus'])).toThrow(/Unknown option '--bogus'/);
    return expect(run('train adapter', ['--lr', 'fast'])).rejects.toThrow(/--lr must be a number between/);
  });

  it('train preference: fits the taste model on the library priors and the votes, and says it shows scores from the start', async () => {
    const follow = followPreferenceModel({ dataDir: dir, preferenceModel: undefined });
    expect(follow()).toBeNull();
    const r = await run('train preference', []);
    expect(r.code).toBe(0);
    expect(follow()?.meta.votes).toBe(60);
    expect(r.out).toMatch(/Trained on 60 votes in 20 rounds/);
    expect(r.out).toMatch(/Priors: the CTR of 300 library creatives and 0 past winners/);
    expect(r.out).toMatch(/shows predicted preference with its 80% interval/);
    const m = TasteModel.load(join(dir, 'preference.json'));
    expect(m.meta.model).toBe('test/clip');
    expect(m.meta.prior.ctrRows).toBe(300);
    expect(m.status(100)).toMatchObject({ state: 'ready', votes: 60, priors: true });
  });

  it('train preference: without library metrics or winners it says "insufficient data" below PREFERENCE_MIN_VOTES', async () => {
    rows = rows.map((r) => ({ ...r, impressions: 0, clicks: 0 }));
    const r = await run('train preference', []);
    expect(r.out).toMatch(/Priors: none/);
    expect(r.out).toMatch(/Insufficient data: without priors the bot shows scores from 100 votes \(PREFERENCE_MIN_VOTES\); it has 60/);
    env.PREFERENCE_MIN_VOTES = '50';
    expect((await run('train preference', [])).out).toMatch(/shows predicted preference with its 80% interval/);
  });

  it('train preference: an old point-estimate file is replaced, not trusted', async () => {
    const { trainPreference } = await import('../../../src/learn/preference.ts');
    trainPreference({ votes: votes(30), model: 'test/clip' }).save(join(dir, 'preference.json'));
    expect(() => TasteModel.load(join(dir, 'preference.json'))).toThrow(/version 1 preference model/);
    expect(followPreferenceModel({ dataDir: dir, preferenceModel: undefined })()).toBeNull();
    await run('train preference', []);
    expect(TasteModel.load(join(dir, 'preference.json')).meta.votes).toBe(60);
  });

  it('a preference model trained with one text encoder is ignored, with a logged reason, under another (CLIP_TEXT_MODEL_DIR)', async () => {
    // Trained with CLIP's own text tower: the file records no other text encoder.
    await run('train preference', []);
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ write: (l) => lines.push(JSON.parse(l)) });
    const clipOnly = { model: 'test/clip', dims: D };
    const multilingual = { ...clipOnly, textModel: 'sentence-transformers/clip-ViT-B-32-multilingual-v1' };
    expect(followPreferenceModel({ dataDir: dir, preferenceModel: undefined }, logger, { encoder: () => clipOnly })()?.meta.votes).toBe(60);
    const follow = followPreferenceModel({ dataDir: dir, preferenceModel: undefined }, logger, { encoder: () => multilingual });
    expect(follow()).toBeNull();
    expect(follow()).toBeNull();
    const warned = lines.filter((l) => l.msg === 'preference model ignored: ranking goes on without it until it is retrained');
    // Once per file, naming both text encoders and what to do.
    expect(warned).toHaveLength(1);
    expect(warned[0].error).toMatch(
      /trained on copy embedded by test\/clip's own text tower, but texts are now embedded by sentence-transformers\/clip-ViT-B-32-multilingual-v1/,
    );
    expect(warned[0].hint).toMatch(/adcreative train preference/);
    // Scoring with it directly is refused, not silently done in the wrong space.
    const m = TasteModel.load(join(dir, 'preference.json'));
    expect(() => m.assertCompatible(multilingual)).toThrow(expect.objectContaining({ code: 'PREFERENCE_TEXT_MODEL_MISMATCH' }));
  });

  it('train preference records the text encoder of the library it learned from, and that model is used with it', async () => {
    const textModel = 'sentence-transformers/clip-ViT-B-32-multilingual-v1';
    cmds = makeLearningCommands({
      config: () => loadConfig(env),
      openSources: async () => ({ ...sources(), model: { name: 'test/clip', dims: D, textModel } }),
      logger: silentLogger,
    });
    await run('train preference', []);
    expect(TasteModel.load(join(dir, 'preference.json')).meta.textModel).toBe(textModel);
    const follow = followPreferenceModel({ dataDir: dir, preferenceModel: undefined }, silentLogger, {
      encoder: () => ({ model: 'test/clip', dims: D, textModel }),
    });
    expect(follow()?.meta.votes).toBe(60);
    // Back on CLIP's own text tower, that model no longer fits.
    expect(
      followPreferenceModel({ dataDir: dir, preferenceModel: undefined }, silentLogger, {
        encoder: () => ({ model: 'test/clip', dims: D }),
      })(),
    ).toBeNull();
  });

  it('eval: writes the HTML report and prints the summary', async () => {
    await run('train adapter', ['--batch', '64', '--quiet', '--epochs', '2']);
    const out = join(dir, 'r.html');
    const r = await run('eval', ['--out', out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Rounds: 1 \(0 open, 1 closed\) over 1 briefs/);
    expect(r.out).toMatch(/Adapter: on \(/);
    expect(r.out).toMatch(/Preference model: not trained/);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('Held-out recall@k');
  });

  it('the schedule retrains what is due and nothing else', async () => {
    const cfg = loadConfig({ ...env, LEARNING_SCHEDULE: '1h' });
    expect(cfg.learningSchedule).toBe(3_600_000);
    const first = await retrainDue({ cfg, openSources: async () => sources(), logger: silentLogger });
    expect(first).toEqual({ adapter: 'trained', preference: 'trained' });
    expect(existsSync(join(dir, 'adapter.json'))).toBe(true);
    // Nothing new: nothing to do.
    expect(await retrainDue({ cfg, openSources: async () => sources(), logger: silentLogger })).toEqual({
      adapter: 'skipped',
      preference: 'skipped',
    });
    // The library grew by more than ADAPTER_RETRAIN_SHARE (25 %): the adapter is due again.
    rows.push(...library(400).slice(300));
    expect((await retrainDue({ cfg, openSources: async () => sources(), logger: silentLogger })).adapter).toBe('trained');

    expect(startLearningSchedule({ cfg: loadConfig(env), openSources: async () => sources(), logger: silentLogger })).toBeNull();
    const timers: { fn: () => void; ms: number }[] = [];
    const start = () =>
      startLearningSchedule({
        cfg,
        openSources: async () => sources(),
        logger: silentLogger,
        setTimer: (fn, ms) => {
          timers.push({ fn, ms });
          return {};
        },
        clearTimer: () => {},
      });
    const sched = start();
    expect(sched).not.toBeNull();
    expect(timers[0].ms).toBe(3_600_000);
    sched!.stop();
    // No preference model yet: the first pass runs at once, so the priors are in use before the first vote.
    rmSync(join(dir, 'preference.json'));
    timers.length = 0;
    start()!.stop();
    expect(timers[0].ms).toBe(0);
  });
});
