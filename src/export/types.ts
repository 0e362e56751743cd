/** What an ad export takes in and gives out, shared by the platform writers and the checks. */
import type { FormatName, Platform } from '../vocabulary.ts';
import type { AdCopy, Chosen, ExtraCopy } from './copy.ts';

/** One creative to export: a round's variant, or an entry of a variants.json. */
export interface ExportCreative {
  /** Stable id on every platform (ad group, asset group and ad names, file names): `adKey()`. */
  adKey: string;
  label: string;
  role: 'winner' | 'sibling' | 'variant';
  /** The content hash (approvals.ts) of the copy and images exported. */
  hash: string;
  copy: AdCopy;
  brief: string;
  /** PNG bytes per format this creative has. */
  images: Partial<Record<FormatName, Uint8Array>>;
  /** Rows the story format keeps free of text (the composition's safe zones), per format. */
  safe?: Partial<Record<FormatName, { top: number; bottom: number }>>;
  roundId?: string;
  variantId?: string;
  /** The copy's locale tag (rounds with `--locales`): the brief's own language, or a translation exported as an ad of its own. */
  locale?: string;
}

export interface ExportBrand {
  name: string;
  /** Shown as the business name (Google), brand name (TikTok). */
  displayName: string;
  /** Logo file bytes (SVG, PNG, …), drawn on plates of the platforms' shapes. */
  logo?: Uint8Array;
  /** Plate colour behind the logo. */
  background: string;
}

/** The pixel work the export needs (image/export-images.ts and image/decode.ts in production). */
export interface ExportImageTools {
  info(bytes: Uint8Array): Promise<{ width: number; height: number; type: string }>;
  logoPlate(logo: Uint8Array, width: number, height: number, background: string): Promise<Uint8Array>;
  jpeg(image: Uint8Array): Promise<Uint8Array>;
}

export interface ExportSettings {
  /** Campaign name the rows go under (Google Ads Editor creates it if it does not exist). */
  campaign: string;
  brand?: ExportBrand;
  /** Landing page; without one the rows say so and the platforms ask for it on import. */
  finalUrl?: string;
  /** Extra copy per ad key from the copywriter (copy.ts `askExtraCopy`); missing: derived by rules. */
  extra?: Map<string, ExtraCopy>;
  /** Notes to show in the summary (e.g. "the copywriter was offline"). */
  notes?: string[];
  at: Date;
  by: string;
}

export interface ExportFile {
  path: string;
  data: Uint8Array | string;
}

/** One ad on one platform: written, or left out with the reason. */
export interface PlatformAd {
  adKey: string;
  label: string;
  included: boolean;
  why?: string;
  texts: Record<string, Chosen[]>;
  images: Record<string, string>;
}

export interface PlatformExport {
  platform: Platform;
  files: ExportFile[];
  ads: PlatformAd[];
  warnings: string[];
}

/** A slot's image: its file in the export, its bytes and what the checks need to know of it. */
export interface SlotImage {
  path: string;
  bytes: Uint8Array;
  width: number;
  height: number;
  type: string;
  safe?: { top: number; bottom: number };
}
