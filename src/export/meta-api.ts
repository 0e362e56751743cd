/**
 * `export --publish`: the Meta ad creatives of an export created through the Marketing API (Graph
 * API): each image uploaded to `act_<id>/adimages` (its hash replaces the placeholder), then the
 * creative (`act_<id>/adcreatives`), then the ad (`act_<id>/ads`) with status PAUSED, so nothing
 * spends until someone turns it on in Ads Manager. The access token goes in the POST body, never
 * in a URL or a log line. Errors come back in the Graph API's error object
 * `{error: {message, type, code, error_subcode, fbtrace_id}}`; rate limits (codes 4, 17, 32, 613,
 * 80000–80014) and transient errors (1, 2) are retried with backoff, as Meta's "Rate Limiting" and
 * "Handling Errors" pages ask; anything else stops the publish with Meta's message.
 *
 * Real ad accounts cannot be reached from where this is developed: the client is tested against a
 * local stand-in that speaks these request and error shapes (test/helpers/fake-meta.ts).
 */
import { NetworkError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { META_PLACEHOLDERS, type MetaAdEntry } from './meta.ts';

export interface MetaApiSettings {
  accessToken: string;
  /** The ad account, with or without its "act_" prefix. */
  adAccountId: string;
  pageId: string;
  adsetId: string;
  /** Graph API base including the version, e.g. https://graph.facebook.com/v21.0. */
  graphUrl: string;
  /** Attempts per request on rate limits and transient errors. */
  retries?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
}

export interface GraphError {
  message: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  fbtrace_id?: string;
}

export class MetaApiError extends NetworkError {
  constructor(
    readonly graph: GraphError,
    readonly status: number,
    what: string,
  ) {
    super(
      graph.code === 190 ? 'META_TOKEN_REFUSED' : 'META_API',
      `Meta refused ${what}: ${graph.message}${graph.code !== undefined ? ` (code ${graph.code}${graph.error_subcode ? `/${graph.error_subcode}` : ''}${graph.type ? `, ${graph.type}` : ''})` : ''}${graph.fbtrace_id ? `; fbtrace_id ${graph.fbtrace_id}` : ''}`,
      graph.code === 190 ? { hint: 'check META_ACCESS_TOKEN: it must be a valid token with ads_management' } : undefined,
    );
  }
}

/** Rate-limit codes (Graph API "Rate Limiting": app, user, page, custom, and ads management throttling). */
const RATE_LIMIT = new Set([4, 17, 32, 613, ...Array.from({ length: 15 }, (_, i) => 80000 + i)]);
/** Transient codes (Graph API "Handling Errors": API unknown, API service). */
const TRANSIENT = new Set([1, 2]);

export interface Published {
  adKey: string;
  imageHashes: Record<string, string>;
  creativeId: string;
  /** Empty when Meta refused the ad after the creative was made. */
  adId: string;
}

function account(id: string): string {
  return id.startsWith('act_') ? id : `act_${id}`;
}

/** How long Meta says to wait (X-Business-Use-Case-Usage: estimated_time_to_regain_access, minutes). */
function waitHint(res: Response): number | undefined {
  const raw = res.headers.get('x-business-use-case-usage');
  if (!raw) return undefined;
  try {
    const usage = JSON.parse(raw) as Record<string, { estimated_time_to_regain_access?: number }[]>;
    const mins = Object.values(usage)
      .flat()
      .map((u) => u.estimated_time_to_regain_access ?? 0);
    const m = Math.max(0, ...mins);
    return m > 0 ? m * 60_000 : undefined;
  } catch {
    return undefined;
  }
}

export class MetaApi {
  private readonly f: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly s: MetaApiSettings) {
    this.f = s.fetch ?? fetch;
    this.sleep = s.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** One POST to `act_<id>/<edge>` with form fields; retried on rate limits and transient errors. */
  private async post(edge: string, fields: Record<string, string>, what: string): Promise<Record<string, unknown>> {
    const url = `${this.s.graphUrl.replace(/\/$/, '')}/${account(this.s.adAccountId)}/${edge}`;
    const body = new URLSearchParams({ ...fields, access_token: this.s.accessToken });
    const attempts = Math.max(1, this.s.retries ?? 4);
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.f(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      } catch (e) {
        if (attempt >= attempts)
          throw new NetworkError(
            'META_UNREACHABLE',
            `could not reach the Graph API at ${this.s.graphUrl} (${e instanceof Error ? e.message : String(e)})`,
          );
        await this.sleep(1000 * 2 ** (attempt - 1));
        continue;
      }
      const text = await res.text();
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new NetworkError('META_API', `the Graph API answered ${what} with HTTP ${res.status} and no JSON`);
      }
      const err = json.error as GraphError | undefined;
      if (!err && res.ok) return json;
      const graph: GraphError = err ?? { message: `HTTP ${res.status}` };
      const retriable = (graph.code !== undefined && (RATE_LIMIT.has(graph.code) || TRANSIENT.has(graph.code))) || res.status >= 500;
      if (!retriable || attempt >= attempts) throw new MetaApiError(graph, res.status, what);
      const wait = Math.min(waitHint(res) ?? 2000 * 2 ** (attempt - 1), 5 * 60_000);
      this.s.logger?.warn('Meta asked to slow down; retrying', { what, code: graph.code, waitMs: wait, attempt });
      await this.sleep(wait);
    }
  }

  async uploadImage(name: string, bytes: Uint8Array): Promise<string> {
    const r = (await this.post('adimages', { bytes: Buffer.from(bytes).toString('base64'), name }, `the image ${name}`)) as {
      images?: Record<string, { hash?: string }>;
    };
    const hash = Object.values(r.images ?? {})[0]?.hash;
    if (!hash) throw new NetworkError('META_API', `the Graph API took the image ${name} but returned no hash`);
    return hash;
  }

  async createCreative(creative: Record<string, unknown>): Promise<string> {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(creative)) fields[k] = typeof v === 'string' ? v : JSON.stringify(v);
    const r = await this.post('adcreatives', fields, `the creative ${String(creative.name)}`);
    return String(r.id);
  }

  async createAd(ad: { name: string; adsetId: string; creativeId: string }): Promise<string> {
    const r = await this.post(
      'ads',
      { name: ad.name, adset_id: ad.adsetId, creative: JSON.stringify({ creative_id: ad.creativeId }), status: 'PAUSED' },
      `the ad ${ad.name}`,
    );
    return String(r.id);
  }

  /**
   * Publishes each entry: images, creative, paused ad. `image` gives a file's bytes by its path in
   * the export. Stops at the first refusal; what was created before it is returned with the error.
   */
  async publish(entries: MetaAdEntry[], image: (path: string) => Uint8Array | undefined): Promise<Published[]> {
    const done: Published[] = [];
    const hashes = new Map<string, string>();
    try {
      await this.publishEach(entries, image, done, hashes);
    } catch (e) {
      // What was created before the refusal is on Meta now: the caller records it.
      if (e instanceof Error) Object.assign(e, { published: done });
      throw e;
    }
    return done;
  }

  private async publishEach(
    entries: MetaAdEntry[],
    image: (path: string) => Uint8Array | undefined,
    done: Published[],
    hashes: Map<string, string>,
  ): Promise<void> {
    for (const e of entries) {
      const imageHashes: Record<string, string> = {};
      for (const [slot, path] of Object.entries(e.images)) {
        let h = hashes.get(path);
        if (!h) {
          const bytes = image(path);
          if (!bytes) throw new NetworkError('META_API', `${path} is not in the export`);
          h = await this.uploadImage(path.split('/').pop() as string, bytes);
          hashes.set(path, h);
        }
        imageHashes[slot] = h;
      }
      const creative = JSON.parse(
        JSON.stringify(e.adcreative, (_k, v) => {
          if (v === META_PLACEHOLDERS.page) return this.s.pageId;
          const m = typeof v === 'string' ? /^\{IMAGE_HASH:(.+)\}$/.exec(v) : null;
          return m ? hashes.get(m[1]) : v;
        }),
      ) as Record<string, unknown>;
      const creativeId = await this.createCreative(creative);
      // Recorded before the ad is asked for: if Meta refuses the ad, the creative is still known.
      const made: Published = { adKey: e.ad_key, imageHashes, creativeId, adId: '' };
      done.push(made);
      made.adId = await this.createAd({ name: String(e.ad.name), adsetId: this.s.adsetId, creativeId });
    }
  }
}
