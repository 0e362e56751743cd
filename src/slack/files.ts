/**
 * Files people share in Slack, downloaded with the bot token ("Add to creative library", the
 * brief form's reference image). The token goes only to Slack's own file hosts (and the Web
 * API host in use: GovSlack, the sandbox's stand-in), checked again after every redirect.
 *
 * What Slack documents and this module keeps:
 * - `files:read` covers files shared where the bot is a member; for any other file Slack's file
 *   host answers its sign-in page, HTML with status 200 (docs.slack.dev/messaging/working-with-files#authenticating).
 *   That page is recognised by its type and its first bytes, and named for what it is.
 * - Slack Connect files arrive as stubs, `file_access: "check_file_info"`, with no URL:
 *   `files.info` has the rest (docs.slack.dev/reference/events/message/file_share#slack-connect-files).
 * - The size limit holds while the bytes stream in, whatever `Content-Length` said.
 */
import { describeError, InputError } from '../errors.ts';
import { IMAGE_TYPES, IMAGE_TYPES_TEXT } from '../vocabulary.ts';

/** A file as Slack describes it in events, shortcuts and view submissions. */
export interface SlackFile {
  id?: string;
  name?: string;
  mimetype?: string;
  size?: number;
  url_private_download?: string;
  url_private?: string;
  /** "check_file_info" on a Slack Connect stub. */
  file_access?: string;
}

/** Slack's file hosts: the bot token goes with a download only to these (and the configured Web API's host). */
export function trustedFileUrl(url: string, extraHosts: string[] = []): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const h = u.hostname.toLowerCase();
  const slack = ['slack.com', 'slack-edge.com', 'slack-gov.com'].some((d) => h === d || h.endsWith(`.${d}`));
  return (slack && u.protocol === 'https:') || extraHosts.includes(u.host);
}

export interface FileSettings {
  botToken: string;
  maxBytes: number;
  /** IMAGE_MAX_PIXELS: checked from the image's header before it is used. */
  maxPixels: number;
  /** Hosts besides Slack's own that may receive the bot token (the Web API host in use). */
  extraHosts: string[];
  /** `files.info`, for Slack Connect stubs. */
  info?: (id: string) => Promise<SlackFile | undefined>;
}

/** A file as Slack describes it in full: a Slack Connect stub is completed with `files.info`. */
export async function resolveFile(f: SlackFile, s: Pick<FileSettings, 'info'>): Promise<SlackFile> {
  if (f.file_access !== 'check_file_info') return f;
  if (!f.id || !s.info)
    throw new InputError('FILE_NO_ACCESS', 'the file is shared from another organisation and its details could not be read');
  const full = await s.info(f.id).catch((e: unknown) => {
    throw new InputError(
      'FILE_NO_ACCESS',
      `the file is shared from another organisation and Slack would not describe it (${describeError(e)})`,
    );
  });
  if (!full) throw new InputError('FILE_NO_ACCESS', 'the file is shared from another organisation and Slack would not describe it');
  return { ...full, id: f.id };
}

const MAX_REDIRECTS = 5;

/** The first bytes of Slack's sign-in page (or any HTML) rather than an image. */
function looksLikeHtml(head: Uint8Array): boolean {
  const text = new TextDecoder().decode(head.subarray(0, 256)).trimStart().toLowerCase();
  return text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<head') || text.startsWith('<body');
}

const mb = (n: number) => (n / 1048576).toFixed(0);

/** Why a shared file cannot be used before downloading it (type, declared size), or undefined. */
export function refuseFile(f: SlackFile, maxBytes: number): string | undefined {
  if (!IMAGE_TYPES.has(f.mimetype ?? '')) return `${f.mimetype ?? 'that file type'} is not supported (${IMAGE_TYPES_TEXT})`;
  if ((f.size ?? 0) > maxBytes) return `${(Number(f.size) / 1048576).toFixed(1)} MB is over the ${mb(maxBytes)} MB limit`;
  return undefined;
}

/**
 * Downloads a Slack file with the bot token: redirects followed by hand (each hop's host checked
 * before the token goes there), the size limit kept while streaming, and Slack's sign-in page
 * (what its file host answers for a file the bot may not see) refused with what to do.
 */
export async function downloadFile(file: SlackFile, s: FileSettings): Promise<Uint8Array> {
  const f = await resolveFile(file, s);
  let url = f.url_private_download ?? f.url_private ?? '';
  if (!url) throw new InputError('FILE_NO_URL', 'the file has no download URL');
  let res: Response | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (!trustedFileUrl(url, s.extraHosts))
      throw new InputError(
        'FILE_UNTRUSTED_HOST',
        `the file's download address ${hop ? 'redirects to' : 'is'} a host that is not Slack's (${URL.canParse(url) ? new URL(url).host : 'invalid URL'})`,
      );
    res = await fetch(url, { headers: { Authorization: `Bearer ${s.botToken}` }, redirect: 'manual' });
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (!location) break;
    await res.body?.cancel();
    url = new URL(location, url).href;
    res = undefined;
  }
  if (!res) throw new InputError('FILE_DOWNLOAD', `more than ${MAX_REDIRECTS} redirects`);
  if (!res.ok) throw new InputError('FILE_DOWNLOAD', `HTTP ${res.status}`);
  const noAccess = () =>
    new InputError(
      'FILE_NO_ACCESS',
      'Slack answered its sign-in page instead of the file: the app cannot see it. Share the file in a channel the app is in (or invite the app where it was shared) and try again',
    );
  if ((res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/html')) {
    await res.body?.cancel();
    throw noAccess();
  }
  const tooLarge = () => new InputError('FILE_TOO_LARGE', `the file is over ${mb(s.maxBytes)} MB`);
  if (Number(res.headers.get('content-length') ?? 0) > s.maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    total += next.value.length;
    if (total > s.maxBytes) {
      await reader?.cancel();
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  if (looksLikeHtml(bytes)) throw noAccess();
  return bytes;
}
