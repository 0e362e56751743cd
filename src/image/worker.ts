/**
 * The image worker: composition (`composeAd`) and studio drafts (`renderStudioArt`) in a
 * thread of their own. Each is a dozen sharp calls plus loops over pixels (the contrast
 * check), SVG and markup building; on the bot's thread, every draft and every variant ×
 * format added tens of milliseconds to whatever Slack request arrived meanwhile.
 * Spawned by pool.ts over the shared worker RPC (src/workers/rpc.ts); the types below are the
 * whole protocol.
 */
import type { FormatName } from '../vocabulary.ts';
import { type HandlerResult, serveRpc } from '../workers/rpc.ts';
import { type ComposeResult, composeAd } from './compose.ts';
import { renderStudioArt } from './studio-art.ts';

export interface ComposeRequest {
  type: 'compose';
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

/** What the worker answers: a composition, or a draft's PNG (transferred). */
export type ImageResult = { compose: WireComposeResult } | { png: ArrayBuffer };

/** A copy into a plain ArrayBuffer: sharp's output buffers are not always transferable. */
function plain(b: Uint8Array): ArrayBuffer {
  return new Uint8Array(b).buffer as ArrayBuffer;
}

// Concurrent requests run concurrently: sharp's work is on libuv's pool either way.
serveRpc<ImageRequest>(async (req): Promise<HandlerResult<ImageResult>> => {
  if (req.type === 'studio') {
    const r = await renderStudioArt({
      palette: req.palette,
      concept: req.concept,
      seed: req.seed,
      photo: req.photo ? new Uint8Array(req.photo) : undefined,
      size: req.size,
    });
    const png = plain(r);
    return { result: { png }, transfer: [png] };
  }
  const r = await composeAd({
    visual: new Uint8Array(req.visual),
    format: req.format,
    headline: req.headline,
    cta: req.cta,
    style: { colors: req.colors, fonts: req.fonts, logo: req.logo ? new Uint8Array(req.logo) : undefined },
    offline: req.offline,
  });
  const png = plain(r.png);
  return { result: { compose: { ...r, png } }, transfer: [png] };
});
