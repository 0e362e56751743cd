/**
 * The generation contract: a brief (plus inspiration, feedback and the current leader)
 * in, N ranked variants rendered in every requested format out.
 */
import type { SearchHit } from '../library/types.ts';
import type { CandidateScores } from '../rank/score.ts';
import type { ChannelName, FormatName } from '../vocabulary.ts';
import type { BrandScore } from './brand-score-types.ts';
import type { BilledRequest, GenerateCost } from './pricing.ts';

export interface Inspiration {
  id: string;
  /** The past creative's brand: offline copy reuses only the same brand's words. */
  brand?: string;
  headline: string;
  body: string;
  cta: string;
  /** Image bytes (full image or thumbnail) the studio may reuse. */
  image?: Uint8Array;
  ctr: number; // smoothed
  similarity: number;
}

export interface Copy {
  headline: string;
  body: string;
  cta: string;
}

/**
 * One locale's copy of a variant (`--locales`): written in the brief's language ('source'),
 * translated by the copywriter, or 'not-translated' (offline, or the text model failed), when
 * its fields are empty. `images` holds its render of every format (absent when not translated).
 */
export interface LocaleCopy extends Copy {
  locale: string;
  status: 'source' | 'translated' | 'not-translated';
  images?: Partial<Record<FormatName, Uint8Array>>;
  /** What a person should know: "German headline shortened at a word to 27 characters", … */
  flags: string[];
}

export interface GenerateProgress {
  stage: 'writing' | 'drawing' | 'composing' | 'ranking';
  done: number;
  total: number;
}

/**
 * The brief as structure, when the caller has it (the brief form's fields): the copywriter
 * reads these instead of guessing them from the text, and never prints the audience or tone.
 */
export interface BriefFields {
  product?: string;
  audience?: string;
  tone?: string;
  offer?: string;
  benefit?: string;
}

export interface GenerateRequest {
  brief: string;
  /** Requests billed for the round before generation (the brief's translation for the library search): counted in its cost. */
  billedBefore?: BilledRequest[];
  /** The brief's parts as given by a form; `brief` is still the text people see. */
  fields?: BriefFields;
  brand?: string;
  channel: ChannelName;
  formats: FormatName[];
  count: number;
  inspiration: Inspiration[];
  feedback: string[];
  leader?: Copy & { image?: Uint8Array };
  /**
   * An image the visuals should follow (the brief form's upload): with OpenAI every candidate is
   * made from it on the images edit endpoint. A leader's image does the same outside feedback rounds.
   */
  referenceImage?: Uint8Array;
  /** Locale tags (`--locales de,fr,zh-CN`): every variant gets copy per locale, rendered in every format. */
  locales?: string[];
  /** The brief's CLIP text embedding when the caller already has it (e.g. from the library search), so it is not computed twice. */
  briefEmbedding?: Float32Array;
  /** What CLIP relevance is scored against instead of `brief` (an audience segment's brief: audiences.ts). */
  relevanceText?: string;
  /** The brief as the CLIP text tower read it for the search (translated: inspire.ts), when it differs from `brief`. */
  searchText?: string;
  signal?: AbortSignal;
  onProgress?: (p: GenerateProgress) => void;
}

/**
 * A variant's scores as ranked (rank/score.ts): relevance, novelty, diversity, preference with its
 * interval, total; and its brand score (generate/brand-score.ts), which rides along in the stored
 * scores JSON and in variants.json.
 */
export type VariantScores = CandidateScores & { brand?: BrandScore };

export interface GeneratedVariant extends Copy {
  id: string;
  label: string; // "A", "B", …
  concept: string;
  /** PNG bytes per requested format. */
  images: Partial<Record<FormatName, Uint8Array>>;
  /** The square (or first) format, for previews. */
  preview: Uint8Array;
  /** The raw visual before composition (kept so copy edits re-render without a new image). */
  visual: Uint8Array;
  imageEmbedding: Float32Array;
  scores: VariantScores;
  reason: string;
  /** Made without OpenAI (offline studio / offline copy). */
  offline: boolean;
  /** Things a person should know: "headline trimmed to 27 chars", … */
  flags: string[];
  /** The audience segment it was written and ranked for (audiences.ts); absent without segments. */
  audience?: string;
  /** The variant's copy per requested locale, in the order asked (absent without `locales`). */
  locales?: LocaleCopy[];
}

export interface GenerationFailure {
  label?: string;
  stage: 'copy' | 'image' | 'compose' | 'rank';
  message: string;
}

export interface GenerateResult {
  variants: GeneratedVariant[];
  failures: GenerationFailure[];
  /**
   * What the generation cost: the requests the API answered (so billed), priced from the usage it
   * reported. A `generate()` that throws after billed requests carries it too (`costOf(error)`).
   */
  cost: GenerateCost;
  offline: boolean;
}

export interface Generator {
  generate(req: GenerateRequest): Promise<GenerateResult>;
  /** Re-renders a variant's formats with new copy and the same visual. */
  rerender(
    variant: GeneratedVariant,
    copy: Copy,
    opts: {
      brand?: string;
      formats: FormatName[];
      /** For the brand score's copy limits; the kit's default when absent. */
      channel?: ChannelName;
    },
  ): Promise<GeneratedVariant>;
}

/** A library search hit as generation's inspiration (one mapping for the bot and the CLI). */
export function inspirationFromHit(h: SearchHit): Inspiration {
  return {
    id: h.id,
    brand: h.brand,
    headline: h.headline,
    body: h.body,
    cta: h.cta,
    image: h.thumbnail,
    ctr: h.ctr.smoothed,
    similarity: h.scores.fused,
  };
}

/** Variant labels: A … Z, then AA, AB, … */
export function labelFor(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(65 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}
