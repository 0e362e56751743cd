/**
 * The image worker: composition (`composeAd`) and studio drafts (`renderStudioArt`) in a
 * thread of their own. Each is a dozen sharp calls plus loops over pixels (the contrast
 * check), SVG and markup building; on the bot's thread, every draft and every variant ×
 * format added tens of milliseconds to whatever Slack request arrived meanwhile.
 * Spawned by pool.ts; the message types below are the whole protocol.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { isMainThread, parentPort } from 'node:worker_threads';
import { isAdError } from '../errors.ts';
import type { FormatName } from '../vocabulary.ts';
import { type ComposeResult, composeAd } from './compose.ts';
import { renderStudioArt } from './studio-art.ts';

export interface ComposeRequest {
  type: 'compose';
  id: number;
  /** The visual's file bytes (transferred). */
  visual: ArrayBuffer;
  format: FormatName;
  headline: string;
  cta: string;
  colors: { primary: string; accent: string; text: string };
  fonts: { headline: string; body: string };
  logo?: ArrayBuffer;
  offline?: boolean;
}

export interface StudioRequest {
  type: 'studio';
  id: number;
  palette: string[];
  concept: string;
  seed: number;
  /** Transferred. */
  photo?: ArrayBuffer;
  size?: number;
}

export type ImageRequest = ComposeRequest | StudioRequest;

/** ComposeResult with the PNG as a transferable buffer. */
export type WireComposeResult = Omit<ComposeResult, 'png'> & { png: ArrayBuffer };

export interface WireImageError {
  name: string;
  code?: string;
  message: string;
  hint?: string;
}

export type ImageReply =
  | { id: number; ok: true; compose: WireComposeResult }
  | { id: number; ok: true; png: ArrayBuffer }
  | { id: number; ok: false; error: WireImageError };

function wireError(e: unknown): WireImageError {
  if (isAdError(e)) return { name: e.name, code: e.code, message: e.message, hint: e.hint };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/** A copy into a plain ArrayBuffer: sharp's output buffers are not always transferable. */
function plain(b: Uint8Array): ArrayBuffer {
  return new Uint8Array(b).buffer as ArrayBuffer;
}

/**
 * Lowers this thread's scheduling priority (nice 10; Linux, where a thread id is a valid
 * `setpriority` target): on a machine with fewer cores than busy threads, the bot's event
 * loop then gets the CPU before background work, so a Slack ack is not queued behind it.
 * Threads this one creates afterwards inherit it. Best effort: elsewhere, a no-op.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // Not Linux, or not permitted: run at normal priority.
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  lowerThreadPriority();
  // Concurrent requests run concurrently: sharp's work is on libuv's pool either way.
  port.on('message', (req: ImageRequest) => {
    const fail = (e: unknown) => port.postMessage({ id: req.id, ok: false, error: wireError(e) } satisfies ImageReply);
    if (req.type === 'studio') {
      renderStudioArt({
        palette: req.palette,
        concept: req.concept,
        seed: req.seed,
        photo: req.photo ? new Uint8Array(req.photo) : undefined,
        size: req.size,
      }).then((r) => {
        const png = plain(r);
        port.postMessage({ id: req.id, ok: true, png } satisfies ImageReply, [png]);
      }, fail);
      return;
    }
    composeAd({
      visual: new Uint8Array(req.visual),
      format: req.format,
      headline: req.headline,
      cta: req.cta,
      style: { colors: req.colors, fonts: req.fonts, logo: req.logo ? new Uint8Array(req.logo) : undefined },
      offline: req.offline,
    }).then((r) => {
      const png = plain(r.png);
      port.postMessage({ id: req.id, ok: true, compose: { ...r, png } } satisfies ImageReply, [png]);
    }, fail);
  });
}
