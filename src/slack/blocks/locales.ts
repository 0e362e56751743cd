/**
 * A variant's locales side by side in its message (`--locales`): one section field per locale
 * with its headline, text and CTA, or "not translated". Votes stay per variant: there is one
 * Vote button for all of them.
 */
import { localeName } from '../../generate/locales.ts';
import type { VariantLocale, VariantRecord } from '../../rounds/types.ts';
import { type Block, context, esc, LIMITS, md, truncate, truncateMrkdwn } from './kit.ts';

function field(l: VariantLocale): string {
  const name = `*${esc(localeName(l.locale))}* (${esc(l.locale)})${l.status === 'source' ? ' · as written' : ''}${l.outdated ? ' · _outdated_' : ''}`;
  if (l.status === 'not-translated') return `${name}\n_not translated_`;
  // Three fields in one: each cut to share the field's 2000 characters.
  return truncateMrkdwn(
    `${name}\n*${esc(truncate(l.headline, 300))}*\n${esc(truncate(l.body, 1200))}\n_CTA:_ ${esc(truncate(l.cta, 200))}`,
    LIMITS.fieldText,
  );
}

/**
 * `v` is the variant as the round decided it (rounds/locales.ts): after an edit the
 * brief-language locale carries the edited copy and translations made before it are `outdated`.
 */
export function localeBlocks(v: Pick<VariantRecord, 'label' | 'locales'>): Block[] {
  const { label, locales } = v;
  if (!locales?.length) return [];
  const shown = locales.slice(0, LIMITS.sectionFields);
  const blocks: Block[] = [{ type: 'section', block_id: `locales-${label}`, fields: shown.map((l) => md(field(l), LIMITS.fieldText)) }];
  // Every flag, the reasons a locale was not translated included (offline, a failed call, a variant
  // made again after translation): a generic reason would be wrong for most of them.
  const notes = locales.flatMap((l) => l.flags);
  const missing = locales.filter((l) => l.status === 'not-translated').length;
  const lines: string[] = [];
  if (missing) lines.push(`${missing} of ${locales.length} locales not translated`);
  if (notes.length) lines.push(esc(truncate(notes.join('; '), 500)));
  if (locales.some((l) => l.outdated)) lines.push(':warning: the translations are of the copy before it was edited');
  lines.push(`One vote counts for variant ${label} in every locale.`);
  blocks.push(context(...lines));
  return blocks;
}
