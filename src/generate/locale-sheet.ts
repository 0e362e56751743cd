/**
 * What a variant's message shows when it has locales: its locales' renders side by side in one
 * image (the preview's format, each tile named), so the team compares markets at a glance and
 * still casts one vote for the variant. Without two rendered locales it is the preview itself.
 */
import { contactSheet } from '../image/compose.ts';
import type { Logger } from '../log.ts';
import type { FormatName } from '../vocabulary.ts';
import { localeName } from './locales.ts';
import type { GeneratedVariant } from './types.ts';

export async function localePreview(
  v: Pick<GeneratedVariant, 'label' | 'preview' | 'images' | 'locales'>,
  logger?: Logger,
): Promise<Uint8Array> {
  const drawn = (v.locales ?? []).filter((l) => l.images && Object.keys(l.images).length > 0);
  if (drawn.length < 2) return v.preview;
  const format = (Object.keys(v.images) as FormatName[]).find((f) => v.images[f] === v.preview);
  const missing = (v.locales ?? []).filter((l) => l.status === 'not-translated');
  try {
    const sheet = await contactSheet(
      drawn.map((l) => ({
        image: (format && l.images?.[format]) || (Object.values(l.images ?? {})[0] as Uint8Array),
        title: `${localeName(l.locale)} (${l.locale})`,
        lines: [l.status === 'source' ? 'as written' : 'translated'],
      })),
      {
        tile: 480,
        title: `Variant ${v.label}${missing.length ? ` · not translated: ${missing.map((l) => l.locale).join(', ')}` : ''}`,
      },
    );
    return new Uint8Array(sheet.buffer, sheet.byteOffset, sheet.byteLength);
  } catch (e) {
    // The sheet is a convenience: the variant's own preview still shows it.
    logger?.warn('locales: side-by-side image failed; showing the preview', { error: e });
    return v.preview;
  }
}
