/**
 * Files in the Slack stand-in: the two-step upload (`files.getUploadURLExternal`, the bytes
 * to the upload URL, `files.completeUploadExternal`), `files.info`, and downloads of
 * `url_private` with the bot token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Args, fail, type Handler, multipartFile, parseJsonArg, sniffMime } from './web-api-wire.ts';
import type { FakeChannel, FakeFile, Workspace } from './workspace.ts';

export function fileJson(ws: Workspace, f: FakeFile): Args {
  return {
    id: f.id,
    name: f.name,
    title: f.title,
    mimetype: f.mimetype,
    filetype: f.mimetype.split('/')[1] ?? 'binary',
    size: f.bytes?.length ?? f.length,
    user: f.user,
    alt_txt: f.altText,
    url_private: `${ws.baseUrl}/files/${f.id}/${encodeURIComponent(f.name)}`,
    url_private_download: `${ws.baseUrl}/files/${f.id}/download/${encodeURIComponent(f.name)}`,
    permalink: `${ws.baseUrl}/files/${f.id}`,
    channels: f.channels,
  };
}

export function fileMethods(ws: Workspace): Record<string, Handler> {
  return {
    'files.getUploadURLExternal': (args, ctx) => {
      const filename = typeof args.filename === 'string' ? args.filename : '';
      const length = Number(args.length);
      if (!filename) return fail('invalid_arguments', { detail: 'filename is required' });
      if (!Number.isInteger(length) || length <= 0) return fail('invalid_arguments', { detail: 'length must be a positive integer' });
      if (length > ws.maxFileBytes) return fail('file_too_large');
      const id = ws.newId('F');
      ws.files.set(id, {
        id,
        name: filename,
        title: filename,
        altText: typeof args.alt_text === 'string' ? args.alt_text : undefined,
        mimetype: sniffMime(undefined, filename),
        user: ctx.token ? ws.botUserId : ws.botUserId,
        length,
        completed: false,
        channels: [],
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
      for (const f of files) {
        f.completed = true;
        if (channel) f.channels.push(channel.id);
        ws.changed({ type: 'file', file: f });
      }
      if (channel) {
        const blocks = ws.blocksArg(args);
        ws.store({
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
      }
      return { files: files.map((f) => fileJson(ws, f)) };
    },
    'files.info': (args) => {
      const f = typeof args.file === 'string' ? ws.files.get(args.file) : undefined;
      if (!f) return fail('file_not_found');
      return { file: fileJson(ws, f) };
    },
  };
}

/** The upload URL and the file download routes; false when the request is for neither. */
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

  const file = /^\/files\/([A-Z0-9]+)(?:\/download)?(?:\/.*)?$/.exec(url.pathname);
  if (file && (req.method === 'GET' || req.method === 'HEAD')) {
    const f = ws.files.get(file[1]);
    if (!f?.bytes) {
      res.writeHead(404).end('not found');
      return true;
    }
    res.writeHead(200, { 'content-type': f.mimetype, 'content-length': String(f.bytes.length) });
    res.end(req.method === 'HEAD' ? undefined : f.bytes);
    return true;
  }
  return false;
}
