/**
 * A local stand-in for the parts of Meta's Marketing API (Graph API) that `export --publish`
 * uses: `POST /<version>/act_<id>/adimages`, `/adcreatives` and `/ads`. It is strict: every rule
 * below that our client could break is enforced, each with the page it comes from, and anything
 * it does not understand is refused with the Graph API's error object
 * `{error: {message, type, code, error_subcode, fbtrace_id}}` (Graph API, "Handling Errors").
 * A test can make it answer rate limits first (code 80004 with X-Business-Use-Case-Usage, as
 * "Rate Limiting" describes) to see the client back off.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMetaOptions {
  token: string;
  accountId: string;
  pageIds: string[];
  adsetIds: string[];
  /** The next N requests answer with this rate-limit error first. */
  rateLimitFirst?: number;
}

export interface FakeMeta {
  url: string;
  images: Map<string, { name: string; bytes: Buffer }>;
  creatives: Map<string, Record<string, unknown>>;
  ads: Map<string, Record<string, string>>;
  requests: { path: string; fields: Record<string, string> }[];
  rateLimitFirst: number;
  close(): Promise<void>;
}

class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly type = 'OAuthException',
    readonly subcode?: number,
  ) {
    super(message);
  }
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
    req.on('error', rej);
  });
}

// Marketing API, ad creative reference: call_to_action types accepted for link ads (a subset is enough).
const CTA = new Set([
  'SHOP_NOW',
  'LEARN_MORE',
  'SIGN_UP',
  'BUY_NOW',
  'ORDER_NOW',
  'BOOK_TRAVEL',
  'CONTACT_US',
  'DOWNLOAD',
  'GET_OFFER',
  'GET_QUOTE',
  'SUBSCRIBE',
  'APPLY_NOW',
  'SEE_MORE',
]);

export async function startFakeMeta(o: FakeMetaOptions): Promise<FakeMeta> {
  let n = 0;
  const id = () => `${120200000000000 + ++n}`;
  const m: FakeMeta = {
    url: '',
    images: new Map(),
    creatives: new Map(),
    ads: new Map(),
    requests: [],
    rateLimitFirst: o.rateLimitFirst ?? 0,
    close: () => new Promise((r) => server.close(() => r())),
  };
  const json = (raw: string | undefined, what: string): Record<string, unknown> => {
    try {
      const v = JSON.parse(raw ?? '');
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {}
    throw new GraphError(400, 100, `(#100) Param ${what} must be a JSON object`);
  };

  function handle(path: string, f: Record<string, string>): Record<string, unknown> {
    // Graph API: a request without a valid token fails with 190 (Access Tokens / Handling Errors).
    if (f.access_token !== o.token) throw new GraphError(400, 190, 'Invalid OAuth access token - Cannot parse access token');
    const match = /^\/v\d+\.\d+\/act_(\d+)\/(adimages|adcreatives|ads)$/.exec(path);
    if (!match) throw new GraphError(400, 100, `(#100) Unknown path components: ${path}`, 'GraphMethodException');
    if (match[1] !== o.accountId)
      throw new GraphError(400, 100, `(#100) Ad account act_${match[1]} does not exist or you do not have access`, 'GraphMethodException');
    if (m.rateLimitFirst > 0) {
      m.rateLimitFirst--;
      throw new GraphError(
        400,
        80004,
        'There have been too many calls to this ad-account. Wait a bit and try again.',
        'OAuthException',
        2446079,
      );
    }
    const edge = match[2];
    if (edge === 'adimages') {
      // Ad Image reference: `bytes` is the base64 of a JPG or PNG; the answer keys the image by "bytes".
      const bytes = Buffer.from(f.bytes ?? '', 'base64');
      const png = bytes.length > 8 && bytes.readUInt32BE(0) === 0x89504e47;
      const jpg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
      if (!png && !jpg)
        throw new GraphError(400, 100, '(#100) Invalid image: bytes must be a base64 encoded JPG or PNG', 'OAuthException', 1487242);
      const hash = createHash('md5').update(bytes).digest('hex');
      m.images.set(hash, { name: f.name ?? '', bytes });
      return { images: { bytes: { hash, url: `https://scontent.example/${hash}.png` } } };
    }
    if (edge === 'adcreatives') {
      if (!f.name) throw new GraphError(400, 100, '(#100) The parameter name is required');
      const story = json(f.object_story_spec, 'object_story_spec');
      if (!o.pageIds.includes(String(story.page_id))) throw new GraphError(400, 100, `(#100) Invalid page_id ${String(story.page_id)}`);
      const feed = json(f.asset_feed_spec, 'asset_feed_spec') as {
        images?: { hash?: string; adlabels?: { name: string }[] }[];
        titles?: { text: string }[];
        bodies?: { text: string }[];
        call_to_action_types?: string[];
        link_urls?: { website_url?: string }[];
        ad_formats?: string[];
        asset_customization_rules?: { image_label?: { name: string } }[];
        optimization_type?: string;
      };
      // Asset feed spec (Dynamic Creative / placement asset customization) rules.
      if (!feed.images?.length) throw new GraphError(400, 100, '(#100) asset_feed_spec must include images');
      for (const i of feed.images)
        if (!i.hash || !m.images.has(i.hash))
          throw new GraphError(400, 100, `(#100) Image hash ${i.hash} is not in this ad account`, 'OAuthException', 1885252);
      if (!feed.titles?.length || !feed.bodies?.length) throw new GraphError(400, 100, '(#100) asset_feed_spec needs titles and bodies');
      if (feed.titles.length > 5 || feed.bodies.length > 5) throw new GraphError(400, 100, '(#100) At most 5 titles and 5 bodies');
      for (const c of feed.call_to_action_types ?? [])
        if (!CTA.has(c)) throw new GraphError(400, 100, `(#100) Invalid call_to_action_types value ${c}`);
      const url = feed.link_urls?.[0]?.website_url;
      if (!url || !/^https?:\/\//.test(url)) throw new GraphError(400, 100, '(#100) link_urls needs a website_url that is an http(s) URL');
      if (!feed.ad_formats?.length) throw new GraphError(400, 100, '(#100) ad_formats is required');
      const labels = new Set(feed.images.flatMap((i) => (i.adlabels ?? []).map((l) => l.name)));
      if (feed.asset_customization_rules?.length) {
        if (feed.optimization_type !== 'PLACEMENT')
          throw new GraphError(400, 100, '(#100) asset_customization_rules need optimization_type PLACEMENT');
        for (const r of feed.asset_customization_rules)
          if (!r.image_label || !labels.has(r.image_label.name))
            throw new GraphError(400, 100, `(#100) image_label ${r.image_label?.name} names no image`);
      }
      const cid = id();
      m.creatives.set(cid, { name: f.name, object_story_spec: story, asset_feed_spec: feed });
      return { id: cid };
    }
    // Ads: an ad set, an existing creative, and a status of ACTIVE or PAUSED (Ad reference).
    if (!f.name) throw new GraphError(400, 100, '(#100) The parameter name is required');
    if (!o.adsetIds.includes(f.adset_id ?? '')) throw new GraphError(400, 100, `(#100) Invalid adset_id ${f.adset_id}`);
    const creative = json(f.creative, 'creative');
    if (!m.creatives.has(String(creative.creative_id)))
      throw new GraphError(400, 100, `(#100) Creative ${String(creative.creative_id)} does not exist`);
    if (f.status !== 'PAUSED' && f.status !== 'ACTIVE') throw new GraphError(400, 100, '(#100) status must be ACTIVE or PAUSED');
    const aid = id();
    m.ads.set(aid, { name: f.name, adset_id: f.adset_id, creative_id: String(creative.creative_id), status: f.status });
    return { id: aid };
  }

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const raw = await read(req);
    const fields = Object.fromEntries(new URLSearchParams(raw));
    // Tokens in the URL would end up in access logs: refused here so the client never does it.
    if (url.searchParams.has('access_token')) fields.access_token = '(in the URL)';
    m.requests.push({ path: url.pathname, fields });
    try {
      if (req.method !== 'POST') throw new GraphError(400, 100, `(#100) Unsupported ${req.method} request`, 'GraphMethodException');
      const out = handle(url.pathname, fields);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    } catch (e) {
      const g = e instanceof GraphError ? e : new GraphError(500, 1, 'An unknown error occurred', 'OAuthException');
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (g.code === 80004)
        headers['x-business-use-case-usage'] = JSON.stringify({
          [o.accountId]: [
            { type: 'ads_management', call_count: 100, total_cputime: 20, total_time: 20, estimated_time_to_regain_access: 0 },
          ],
        });
      res.writeHead(g.status, headers).end(
        JSON.stringify({
          error: {
            message: g.message,
            type: g.type,
            code: g.code,
            ...(g.subcode ? { error_subcode: g.subcode } : {}),
            fbtrace_id: `Atrace${m.requests.length}`,
          },
        }),
      );
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  m.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v21.0`;
  return m;
}
