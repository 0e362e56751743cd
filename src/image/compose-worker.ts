/**
 * The composition worker: `composeAd` in a thread of its own. Composition is a dozen sharp
 * calls plus the contrast check's loops over the headline's pixels and the SVG and markup
 * it builds; run on the bot's thread, every variant × format added tens of milliseconds
 * to whatever Slack request arrived meanwhile. Spawned by compose-pool.ts; the message
 * types below are the whole protocol.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { isAdError } from '../errors.ts';
import { type ComposeFormat, type ComposeResult, composeAd, type Rect } from './compose.ts';

export interface ComposeRequest {
  id: number;
  /** The visual's file bytes (transferred). */
  visual: ArrayBuffer;
  format: ComposeFormat;
  headline: string;
  cta: string;
  colors: { primary: string; accent: string; text: string };
  fonts: { headline: string; body: string };
  logo?: ArrayBuffer;
  offline?: boolean;
}

/** ComposeResult with the PNG as a transferable buffer. */
export interface WireComposeResult extends Omit<ComposeResult, 'png'> {
  png: ArrayBuffer;
  headlineBox: Rect;
  ctaBox: Rect;
}

export interface WireComposeError {
  name: string;
  code?: string;
  message: string;
  hint?: string;
}

export type ComposeReply = { id: number; ok: true; result: WireComposeResult } | { id: number; ok: false; error: WireComposeError };

function wireError(e: unknown): WireComposeError {
  if (isAdError(e)) return { name: e.name, code: e.code, message: e.message, hint: e.hint };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  // Concurrent requests run concurrently: sharp's work is on libuv's pool either way.
  port.on('message', (req: ComposeRequest) => {
    composeAd({
      visual: new Uint8Array(req.visual),
      format: req.format,
      headline: req.headline,
      cta: req.cta,
      style: { colors: req.colors, fonts: req.fonts, logo: req.logo ? new Uint8Array(req.logo) : undefined },
      offline: req.offline,
    }).then(
      (r) => {
        // A copy into a plain ArrayBuffer: sharp's output buffers are not always transferable.
        const png = new Uint8Array(r.png).buffer as ArrayBuffer;
        port.postMessage({ id: req.id, ok: true, result: { ...r, png } } satisfies ComposeReply, [png]);
      },
      (e: unknown) => port.postMessage({ id: req.id, ok: false, error: wireError(e) } satisfies ComposeReply),
    );
  });
}
