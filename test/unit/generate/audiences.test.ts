import { describe, expect, it } from 'vitest';
import {
  addCosts,
  audienceInspiration,
  estimateForAudiences,
  generateForAudiences,
  MAX_AUDIENCE_CHARS,
  MAX_AUDIENCES,
  parseAudiences,
  totalVariants,
  variantsPerAudience,
} from '../../../src/generate/audiences.ts';
import { attachCost, type BilledRequest, costOf, emptyCost } from '../../../src/generate/pricing.ts';
import type { GenerateRequest, Inspiration } from '../../../src/generate/types.ts';
import type { SearchHit, SearchQuery } from '../../../src/library/types.ts';
import { fakeGenerator } from '../../helpers/fakes.ts';

function request(over: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    brief: 'Cold brew concentrate',
    channel: 'meta',
    formats: ['square'],
    count: 2,
    inspiration: [],
    feedback: [],
    briefEmbedding: new Float32Array([1, 0, 0, 0]),
    ...over,
  };
}

describe('parsing --audiences', () => {
  it('splits on ";", trims, collapses spaces and drops duplicates ignoring case (first spelling kept)', () => {
    expect(parseAudiences('  students ;parents   of toddlers; Students ;PARENTS OF TODDLERS')).toEqual(['students', 'parents of toddlers']);
    expect(parseAudiences('night-shift nurses')).toEqual(['night-shift nurses']);
  });

  it('refuses an empty list, naming what is expected', () => {
    expect(() => parseAudiences('  ;  ')).toThrow(
      /--audiences needs one or more audiences separated by ";", e\.g\. "students; parents of toddlers"/,
    );
  });

  it('refuses an empty segment, naming which one', () => {
    expect(() => parseAudiences('students;;parents')).toThrow(/audience 2 of "students;;parents" is empty/);
    expect(() => parseAudiences(';students')).toThrow(/audience 1 of ";students" is empty/);
  });

  it('says to quote the list when it ends with ";" (the rest went into the brief)', () => {
    expect(() => parseAudiences('students;')).toThrow(
      '--audiences "students;" ends with ";": put the whole list in quotes, e.g. --audiences "students; parents of toddlers".',
    );
  });

  it('refuses a segment that is too long, quoting its start and the limit', () => {
    const long = `people who ${'really '.repeat(20)}like coffee`;
    expect(() => parseAudiences(`students; ${long}`)).toThrow(
      new RegExp(`the audience "people who really really .*" is \\d+ characters; each may have at most ${MAX_AUDIENCE_CHARS}`),
    );
  });

  it(`refuses more than ${MAX_AUDIENCES} distinct segments (duplicates do not count)`, () => {
    const six = ['a', 'b', 'c', 'd', 'e', 'f'];
    expect(() => parseAudiences(six.join(';'))).toThrow(/names 6 audiences; at most 5 are allowed/);
    expect(parseAudiences([...six.slice(0, 5), 'A', 'b'].join(';'))).toHaveLength(5);
  });

  it('names the field it came from (the form says "Audience segments")', () => {
    expect(() => parseAudiences(';', 'Audience segments')).toThrow(/^Audience segments needs/);
  });
});

describe('--variants per audience', () => {
  it('counts every segment: the total, the estimate (one copy call and the images per segment)', () => {
    expect(totalVariants({ variants: 3 })).toBe(3);
    expect(totalVariants({ variants: 3, audiences: ['a', 'b'] })).toBe(6);
    const one = (n: number) => ({ usd: 0.01 + 0.04 * n, textCalls: 1, imageCalls: n });
    expect(estimateForAudiences(one, { variants: 3, audiences: ['a', 'b'] })).toEqual({
      usd: 2 * (0.01 + 0.12),
      textCalls: 2,
      imageCalls: 6,
    });
    expect(estimateForAudiences(one, { variants: 3 })).toEqual(one(3));
  });

  it('refuses a typed --variants whose total is over the round limit, saying what fits', () => {
    expect(() => variantsPerAudience({ perAudience: 4, given: true, audiences: 3, max: 10 })).toThrow(
      /--variants is per audience: 4 for each of 3 audiences makes 12, over the 10 a round may have\. Use --variants 3 or fewer/,
    );
    expect(variantsPerAudience({ perAudience: 3, given: true, audiences: 3, max: 10 })).toBe(3);
  });

  it('lowers a default that does not fit instead of refusing it', () => {
    expect(variantsPerAudience({ perAudience: 4, given: false, audiences: 3, max: 10 })).toBe(3);
    expect(variantsPerAudience({ perAudience: 2, given: false, audiences: 2, max: 10 })).toBe(2);
  });

  it('refuses more segments than variants a round may have', () => {
    expect(() => variantsPerAudience({ perAudience: 1, given: false, audiences: 5, max: 4 })).toThrow(
      /5 audiences need at least 5 variants, one each; a round may have at most 4/,
    );
  });
});

describe('generating per audience', () => {
  it('without segments, one generation as before', async () => {
    const g = fakeGenerator();
    const r = await generateForAudiences(g, request(), undefined);
    expect(g.requests).toHaveLength(1);
    expect(g.requests[0].relevanceText).toBeUndefined();
    expect(r.variants.map((v) => [v.label, v.audience])).toEqual([
      ['A', undefined],
      ['B', undefined],
    ]);
  });

  it('writes and ranks each segment: the copywriter gets the segment, relevance is scored against brief + segment', async () => {
    const g = fakeGenerator();
    g.failLabels = ['B'];
    const r = await generateForAudiences(g, request({ fields: { tone: 'warm', audience: 'everyone' } }), ['students', 'parents']);
    expect(g.requests.map((q) => q.fields)).toEqual([
      { tone: 'warm', audience: 'students' },
      { tone: 'warm', audience: 'parents' },
    ]);
    expect(g.requests.map((q) => q.relevanceText)).toEqual(['Cold brew concentrate — for students', 'Cold brew concentrate — for parents']);
    // The brief's own embedding would rank without the segment: it is not passed on.
    expect(g.requests.every((q) => q.briefEmbedding === undefined)).toBe(true);
    // Grouped by segment, labels running on; the failure says which segment it was in.
    expect(r.variants.map((v) => [v.label, v.audience])).toEqual([
      ['A', 'students'],
      ['B', 'parents'],
      ['C', 'parents'],
    ]);
    expect(r.failures).toEqual([{ label: 'B', stage: 'image', message: 'for students: image model timed out after 3 tries' }]);
  });

  it('a translated brief: each segment is ranked against the translation, and the translation is billed once', async () => {
    const g = fakeGenerator();
    const translation: BilledRequest = {
      model: 'gpt-4o-mini',
      endpoint: 'chat',
      text: { input: 40, cachedInput: 0, output: 12 },
      image: { input: 0, cachedInput: 0, output: 0 },
    };
    await generateForAudiences(g, request({ brief: '冷萃咖啡浓缩液', searchText: 'Cold brew concentrate', billedBefore: [translation] }), [
      'students',
      'parents',
    ]);
    expect(g.requests.map((q) => q.relevanceText)).toEqual(['Cold brew concentrate — for students', 'Cold brew concentrate — for parents']);
    expect(g.requests.map((q) => q.billedBefore?.length ?? 0)).toEqual([1, 0]);
  });

  it('sums the spend, and a failing segment still carries what the earlier ones billed', async () => {
    const g = fakeGenerator();
    const billed = { ...emptyCost(), usd: 0.5, textCalls: 1, imageCalls: 2 };
    const inner = g.generate.bind(g);
    let calls = 0;
    g.generate = async (req) => {
      calls++;
      if (calls === 3) {
        const e = new Error('rate limited');
        attachCost(e, { ...emptyCost(), usd: 0.1, textCalls: 1 });
        throw e;
      }
      return { ...(await inner(req)), cost: billed };
    };
    const ok = await generateForAudiences(g, request(), ['a', 'b']);
    expect(ok.cost).toMatchObject({ usd: 1, textCalls: 2, imageCalls: 4 });
    calls = 1;
    const failed = await generateForAudiences(g, request(), ['a', 'b']).catch((e: unknown) => e);
    expect(costOf(failed)).toMatchObject({ usd: 0.6, textCalls: 2, imageCalls: 2 });
  });

  it('adds costs per model', () => {
    const a = {
      ...emptyCost(),
      byModel: {
        m: {
          requests: 1,
          text: { input: 1, cachedInput: 0, output: 2 },
          image: { input: 0, cachedInput: 0, output: 0 },
          perImage: 0,
          usd: 1,
        },
      },
    };
    const sum = addCosts(a, a);
    expect(sum.byModel.m).toMatchObject({ requests: 2, text: { input: 2, output: 4 }, usd: 2 });
  });
});

describe("each segment's inspiration", () => {
  const hit = (id: string, tags: string[], brand = 'acme') =>
    ({
      id,
      headline: id,
      body: '',
      cta: '',
      brand,
      tags,
      thumbnail: new Uint8Array(),
      ctr: { raw: 0, smoothed: 0.02 },
      scores: { fused: 0.5 },
    }) as unknown as SearchHit;
  const rows = [
    hit('students-win', ['winner', 'audience:students']),
    hit('parents-win', ['winner', 'audience:parents']),
    hit('other-brand-students', ['audience:students'], 'northwind'),
  ];
  const queries: SearchQuery[] = [];
  const library = async () => ({
    search: async (q: SearchQuery) => {
      queries.push(q);
      return rows.filter(
        (r) =>
          (!q.filters?.audience || r.tags.includes(`audience:${q.filters.audience}`)) && (!q.filters?.brand || r.brand === q.filters.brand),
      );
    },
  });
  const general: Inspiration[] = [{ id: 'general', headline: 'general', body: '', cta: '', ctr: 0.01, similarity: 0.4 }];

  it("puts the audience's own past creatives first (the brand's own), then the brief's", async () => {
    const forAudience = audienceInspiration({ library, embedding: new Float32Array([1, 0]), brand: 'acme', k: 3, general });
    expect((await forAudience('students')).map((i) => i.id)).toEqual(['students-win', 'general']);
    expect((await forAudience('parents')).map((i) => i.id)).toEqual(['parents-win', 'general']);
    expect(queries[0]).toMatchObject({ k: 3, filters: { audience: 'students', brand: 'acme' } });
    // A brand with nothing for that audience learns from other brands' creatives for it.
    const other = audienceInspiration({ library, embedding: new Float32Array([1, 0]), brand: 'contoso', k: 3, general });
    expect((await other('students')).map((i) => i.id)).toEqual(['students-win', 'other-brand-students', 'general']);
  });

  it('keeps the general inspiration when the library cannot be searched', async () => {
    const broken = audienceInspiration({
      library: async () => {
        throw new Error('library unavailable');
      },
      embedding: new Float32Array([1, 0]),
      k: 3,
      general,
    });
    expect(await broken('students')).toBe(general);
  });

  it('each segment is written with its own inspiration', async () => {
    const g = fakeGenerator();
    await generateForAudiences(g, request(), ['students', 'parents'], {
      inspirationFor: async (a) => [{ ...general[0], id: a, headline: a }],
    });
    expect(g.requests.map((q) => q.inspiration.map((i) => i.id))).toEqual([['students'], ['parents']]);
  });
});
