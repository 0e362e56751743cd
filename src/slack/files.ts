/**
 * Files people share in Slack, downloaded with the bot token ("Add to creative library", the
 * brief form's reference image). The token goes only to Slack's own file hosts (and the Web
 * API host in use: GovSlack, the sandbox's stand-in).
 */
import { InputError } from '../errors.ts';
import { IMAGE_TYPES, IMAGE_TYPES_TEXT } from '../vocabulary.ts';

/** A file as Slack describes it in events, shortcuts and view submissions. */
export interface SlackFile {
  id?: string;
  name?: string;
  mimetype?: string;
  size?: number;
  url_private_download?: string;
  url_private?: string;
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
}

const mb = (n: number) => (n / 1048576).toFixed(0);

/** Why a shared file cannot be used before downloading it (type, declared size), or undefined. */
export function refuseFile(f: SlackFile, maxBytes: number): string | undefined {
  if (!IMAGE_TYPES.has(f.mimetype ?? '')) return `${f.mimetype ?? 'that file type'} is not supported (${IMAGE_TYPES_TEXT})`;
  if ((f.size ?? 0) > maxBytes) return `${(Number(f.size) / 1048576).toFixed(1)} MB is over the ${mb(maxBytes)} MB limit`;
  return undefined;
}

/** Downloads a Slack file (url_private) with the bot token. */
export async function downloadFile(f: SlackFile, s: FileSettings): Promise<Uint8Array> {
  const url = f.url_private_download ?? f.url_private ?? '';
  if (!url) throw new InputError('FILE_NO_URL', 'the file has no download URL');
  if (!trustedFileUrl(url, s.extraHosts))
    throw new InputError(
      'FILE_UNTRUSTED_HOST',
      `the file's download address is not on a Slack host (${URL.canParse(url) ? new URL(url).host : 'invalid URL'})`,
    );
  const res = await fetch(url, { headers: { Authorization: `Bearer ${s.botToken}` } });
  if (!res.ok) throw new InputError('FILE_DOWNLOAD', `HTTP ${res.status}`);
  const tooLarge = () => new InputError('FILE_TOO_LARGE', `the file is over ${mb(s.maxBytes)} MB`);
  const len = Number(res.headers.get('content-length') ?? 0);
  if (len > s.maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  // Read with the limit: a server that sends more than it announced (or announces nothing) stops at it.
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  for (;;) {
    if (!reader) break;
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > s.maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks, size));
}
