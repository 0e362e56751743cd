/**
 * Files in the Slack stand-in, as Slack documents them:
 * - the two-step upload: `files.getUploadURLExternal` (docs.slack.dev/reference/methods/files.getUploadURLExternal),
 *   the bytes to the upload URL, then `files.completeUploadExternal`
 *   (docs.slack.dev/reference/methods/files.completeUploadExternal). "Files are processed
 *   asynchronously": the share message and `files.info`'s `shares` appear only once processing
 *   is done (`processingMs`). Without `channel_id` the file stays private.
 * - `files.info` with `shares` by channel and message, and the full record of a Slack Connect
 *   file whose events carried only a stub (docs.slack.dev/reference/events/message/file_share#slack-connect-files).
 * - `files.delete`.
 * - downloads of `url_private(_download)` with the bot token: Slack's file host answers its
 *   sign-in page (HTML, 200) for a file the token may not see
 *   (docs.slack.dev/messaging/working-with-files#authenticating), and may redirect.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BLOCK_IMAGE_TYPES, SIGN_IN_PAGE } from './slack-rules.ts';
import { type Args, fail, type Handler, multipartFile, parseJsonArg, sniffMime } from './web-api-wire.ts';
import type { FakeChannel, FakeFile, Workspace } from './workspace.ts';

export function fileType(f: FakeFile): string {
  const sub = f.mimetype.split('/')[1] ?? 'binary';
  return sub === 'jpeg' ? 'jpg' : sub;
}

function ready(f: FakeFile): boolean {
  return !f.readyAt || Date.now() >= f.readyAt;
}

/** `files.info`'s `shares`: public and private channels, each with the messages that share the file. */
function sharesJson(ws: Workspace, f: FakeFile): Args {
  const out: Record<'public' | 'private', Record<string, Args[]>> = { public: {}, private: {} };
  for (const s of f.shares ?? []) {
    const ch = ws.channelFor(s.channel, false);
    const scope = ch.isPrivate ? out.private : out.public;
    scope[s.channel] ??= [];
    scope[s.channel].push({ ts: s.ts, ...(s.thread_ts ? { thread_ts: s.thread_ts } : {}), channel_name: ch.name, reply_users: [] });
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => Object.keys(v).length));
}

export function fileJson(ws: Workspace, f: FakeFile): Args {
  return {
    id: f.id,
    name: f.name,
    title: f.title,
    mimetype: f.mimetype,
    filetype: fileType(f),
    size: f.bytes?.length ?? f.length,
    user: f.user,
    alt_txt: f.altText,
    mode: 'hosted',
    url_private: `${ws.baseUrl}/files/${f.id}/${encodeURIComponent(f.name)}`,
    url_private_download: `${ws.baseUrl}/files-pri/${f.id}/download/${encodeURIComponent(f.name)}`,
    permalink: `${ws.baseUrl}/files/${f.id}`,
    channels: ready(f) ? f.channels : [],
    shares: ready(f) ? sharesJson(ws, f) : {},
  };
}

/** A file as events and shortcuts show it: Slack Connect files are stubs the app completes with files.info. */
export function fileInMessage(ws: Workspace, f: FakeFile): Args {
  if (f.connect) return { id: f.id, mode: 'file_access', file_access: 'check_file_info', created: 0, timestamp: 0, user: '' };
  return fileJson(ws, f);
}

/** Why `slack_file` cannot show this file (the slack file object page), or undefined. */
export function slackFileProblem(ws: Workspace, ref: { id?: string; url?: string }): string | undefined {
  const id = ref.id ?? /\/files(?:-pri)?\/([A-Z0-9]+)/.exec(ref.url ?? '')?.[1];
  const f = id ? ws.files.get(id) : undefined;
  if (!f?.completed) return `no file ${ref.id ?? ref.url}`;
  // "Currently only png, jpg, jpeg, and gif Slack image files are supported."
  if (!BLOCK_IMAGE_TYPES.has(fileType(f))) return `${f.name} is ${fileType(f)}; image blocks show png, jpg, jpeg and gif`;
  // Uploads are processed asynchronously, and an upload nobody shared is private: a block may
  // refer to it only once Slack shows it shared (slackapi's own SDK tests wait for files.info to
  // show the share before posting an image block that refers to a new upload).
  if (!ready(f)) return `${f.id} is still being processed`;
  if (!(f.shares ?? []).length) return `${f.id} is not shared anywhere`;
  if (!ws.botCanSee(f)) return `the app cannot see ${f.id}`;
  return undefined;
}

export function fileMethods(ws: Workspace): Record<string, Handler> {
  return {
    'files.getUploadURLExternal': (args) => {
      const filename = typeof args.filename === 'string' ? args.filename : '';
      const length = Number(args.length);
      if (!filename) return fail('invalid_arguments', { detail: 'filename is required' });
      if (!Number.isInteger(length) || length <= 0) return fail('invalid_arguments', { detail: 'length must be a positive integer' });
      if (length > ws.maxFileBytes) return fail('file_too_large');
      // The documented argument is `alt_txt`; `@slack/web-api` sends `alt_text`, which Slack does
      // not read, so the description is lost. The stand-in refuses it to make that visible.
      if (args.alt_text !== undefined)
        return fail('invalid_arguments', {
          detail: 'alt_text is not an argument of files.getUploadURLExternal; the documented one is alt_txt',
        });
      const alt = typeof args.alt_txt === 'string' ? args.alt_txt : undefined;
      if (alt && alt.length > 1000) return fail('alt_txt_too_large');
      const id = ws.newId('F');
      ws.files.set(id, {
        id,
        name: filename,
        title: filename,
        altText: alt,
        mimetype: sniffMime(undefined, filename),
        user: ws.botUserId,
        length,
        completed: false,
        channels: [],
        shares: [],
      });
      return { upload_url: `${ws.baseUrl}/upload/v1/${id}`, file_id: id };
    },
    'files.completeUploadExternal': (args) => {
      const list = parseJsonArg(args.files, 'files');
      if (!Array.isArray(list) || list.length === 0) return fail('invalid_arguments', { detail: 'files is required' });
      const files: FakeFile[] = [];
      for (const item of list as { id?: string; title?: string }[]) {
        const f = item.id ? ws.files.get(item.id) : undefined;
        if (!f) return fail('file_not_found');
        if (!f.bytes) return fail('file_upload_not_complete', { detail: `nothing was uploaded for ${f.id}` });
        files.push(f);
        if (item.title) f.title = item.title;
      }
      let channel: FakeChannel | undefined;
      if (typeof args.channel_id === 'string' && args.channel_id) channel = ws.channelFor(args.channel_id);
      const thread_ts = typeof args.thread_ts === 'string' && args.thread_ts ? args.thread_ts : undefined;
      if (channel && thread_ts && !ws.message(channel.id, thread_ts)) return fail('thread_not_found');
      const blocks = channel ? ws.blocksArg(args) : undefined;
      for (const f of files) {
        f.completed = true;
        f.readyAt = Date.now() + ws.processingMs;
      }
      // Processed asynchronously: the answer comes now, the share (and its message) when processing is done.
      const share = () => {
        // Processing is over when the share happens: a timer may fire a millisecond before the
        // wall clock reaches readyAt, and a file shared but "not ready" would never become ready
        // (nothing else marks it), so an image block naming it was refused for ever.
        for (const f of files) f.readyAt = Math.min(f.readyAt ?? 0, Date.now());
        if (!channel) return;
        const m = ws.store({
          channel: channel.id,
          ts: ws.nextTs(),
          thread_ts,
          user: ws.botUserId,
          bot_id: ws.botId,
          text: typeof args.initial_comment === 'string' ? args.initial_comment : '',
          blocks,
          files: files.map((f) => f.id),
          reactions: [],
          subtype: 'file_share',
        });
        for (const f of files) {
          if (!f.channels.includes(channel.id)) f.channels.push(channel.id);
          f.shares = [...(f.shares ?? []), { channel: channel.id, ts: m.ts, ...(thread_ts ? { thread_ts } : {}) }];
          ws.changed({ type: 'file', file: f });
        }
      };
      if (ws.processingMs > 0) ws.after(ws.processingMs, share);
      else share();
      // The answer is the file as it was just uploaded: not shared yet.
      return { files: files.map((f) => ({ ...fileJson(ws, f), channels: [], shares: {} })) };
    },
    'files.info': (args) => {
      const f = typeof args.file === 'string' ? ws.files.get(args.file) : undefined;
      if (!f?.completed) return fail('file_not_found');
      if (!ws.botCanSee(f)) return fail('file_not_found');
      return { file: fileJson(ws, f) };
    },
    'files.delete': (args) => {
      const f = typeof args.file === 'string' ? ws.files.get(args.file) : undefined;
      if (!f) return fail('file_not_found');
      // A bot may delete only what it uploaded (docs.slack.dev/reference/methods/files.delete: cant_delete_file).
      if (f.user !== ws.botUserId) return fail('cant_delete_file');
      ws.files.delete(f.id);
      ws.changed({ type: 'file', file: f });
      return {};
    },
  };
}

/**
 * The upload URL and the file host: `files-pri/…` (url_private_download) redirects to the file
 * (or where a test sends it); `files/…` answers the bytes to a token that may see the file, and
 * the sign-in page to anyone else. False when the request is for neither.
 */
export function serveFiles(ws: Workspace, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): boolean {
  const upload = /^\/upload\/v1\/([A-Z0-9]+)$/.exec(url.pathname);
  if (upload && req.method === 'POST') {
    const f = ws.files.get(upload[1]);
    if (!f || f.completed) {
      res.writeHead(404).end('not found');
      return true;
    }
    const ct = String(req.headers['content-type'] ?? '');
    const bytes = ct.startsWith('multipart/form-data') ? multipartFile(body, ct) : body;
    if (!bytes || bytes.length === 0) {
      res.writeHead(400).end('empty upload');
      return true;
    }
    f.bytes = Buffer.from(bytes);
    f.mimetype = sniffMime(f.bytes, f.name);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${f.bytes.length}`);
    return true;
  }
  const pri = /^\/files-pri\/([A-Z0-9]+)\/download\/(.*)$/.exec(url.pathname);
  if (pri && (req.method === 'GET' || req.method === 'HEAD')) {
    const f = ws.files.get(pri[1]);
    const to = (f && ws.downloadRedirect?.(f)) ?? `${ws.baseUrl}/files/${pri[1]}/download/${pri[2]}`;
    res.writeHead(302, { location: to }).end();
    return true;
  }
  const file = /^\/files\/([A-Z0-9]+)(?:\/download)?(?:\/.*)?$/.exec(url.pathname);
  if (file && (req.method === 'GET' || req.method === 'HEAD')) {
    const f = ws.files.get(file[1]);
    const auth = String(req.headers.authorization ?? '');
    if (!f?.bytes || !auth.startsWith('Bearer ') || !ws.botToken(auth.slice(7)) || !ws.botCanSee(f)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : SIGN_IN_PAGE);
      return true;
    }
    res.writeHead(200, { 'content-type': f.mimetype, 'content-length': String(f.bytes.length) });
    res.end(req.method === 'HEAD' ? undefined : f.bytes);
    return true;
  }
  return false;
}
