/**
 * The taste model as `npm start` wires it: the fitted file under DATA_DIR, the round service's
 * vote listener, variant embeddings from the asset store and copy through the encoder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { copyText } from '../../../src/learn/preference.ts';
import { fitTaste } from '../../../src/learn/taste-fit.ts';
import { tasteInput } from '../../../src/learn/taste-prior.ts';
import { createWorld } from '../../../src/learn/taste-sim.ts';
import { silentLogger } from '../../../src/log.ts';
import { createServices, type Services } from '../../../src/services.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { simVariantRecords } from '../../helpers/taste.ts';

const world = createWorld({ seed: 71, dims: 32, latent: 6, library: 120, pastRounds: 8 });
let dir: string;
let services: Services;
const encoder = fakeEncoder({ dims: 32 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'taste-services-'));
  fitTaste(tasteInput({ votes: [], library: world.library, model: encoder.info().model }, { rank: 12 })).save(join(dir, 'preference.json'));
  services = await createServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'error', IMAGE_PROVIDER: 'studio' }), {
    encoder,
    logger: silentLogger,
  });
}, 60_000);

afterAll(async () => {
  await services?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the taste model in the running bot', () => {
  it('learns from a vote the moment it is stored, with the variant embeddings kept for the round', async () => {
    const before = services.taste.current();
    expect(before?.votes).toBe(0);
    const round = await services.rounds.createRound({
      channel: 'C1',
      threadTs: '1.1',
      number: 1,
      brief: 'trail shoes',
      author: 'U0',
      options: { variants: 3, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false },
    });
    const cands = world.brief(0).candidates.slice(0, 3);
    const records = simVariantRecords(round.id, cands);
    for (const [i, c] of cands.entries()) {
      encoder.pinText(copyText(c), c.textEmbedding);
      await services.assets.save(round.id, records[i].id, {
        images: {},
        preview: new Uint8Array([1]),
        visual: new Uint8Array([1]),
        imageEmbedding: c.imageEmbedding,
      });
    }
    await services.store.insertVariants(records);
    await services.rounds.open(round.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });
    const probe = world.brief(5).candidates[0];
    const was = before!.predict(probe).mean;
    // What the vote should do: the same update on a copy taken now.
    const expected = before!.clone();
    expected.observe('x', cands, 2);

    expect((await services.rounds.buttonVote(records[2].id, 'U1')).kind).toBe('voted');
    await services.taste.settled();
    const after = services.taste.current()!;
    expect(after.votes).toBe(1);
    expect(after.predict(probe).mean).toBeCloseTo(expected.predict(probe).mean, 6);
    expect(after.predict(probe).mean).not.toBeCloseTo(was, 6);
  });
});
