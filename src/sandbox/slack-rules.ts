/**
 * Rules Slack documents for what the bot sends, enforced by the stand-in (web-api.ts): when
 * unsure, it refuses, as a real workspace would.
 */

/** Slack's own checks on blocks, enough to catch what a real workspace refuses. */
export function checkBlocks(blocks: unknown, max = 50): string | undefined {
  if (!Array.isArray(blocks)) return 'blocks must be an array';
  if (blocks.length > max) return `no more than ${max} items allowed [json-pointer:/blocks]`;
  const ids = new Set<string>();
  for (const [i, b] of blocks.entries()) {
    if (!b || typeof b !== 'object' || typeof (b as { type?: unknown }).type !== 'string')
      return `missing block type [json-pointer:/blocks/${i}]`;
    const id = (b as { block_id?: unknown }).block_id;
    if (typeof id === 'string') {
      if (id.length > 255) return `block_id too long [json-pointer:/blocks/${i}/block_id]`;
      if (ids.has(id)) return `duplicate block_id ${id} [json-pointer:/blocks/${i}]`;
      ids.add(id);
    }
    const text = (b as { text?: { text?: unknown } }).text;
    if (text && typeof text.text === 'string' && (b as { type: string }).type === 'section' && text.text.length > 3000) {
      return `must be less than 3001 characters [json-pointer:/blocks/${i}/text/text]`;
    }
    if ((b as { type: string }).type === 'image') {
      const img = b as { image_url?: unknown; slack_file?: unknown; alt_text?: unknown };
      if (!img.image_url && !img.slack_file) return `image needs image_url or slack_file [json-pointer:/blocks/${i}]`;
      if (typeof img.alt_text !== 'string') return `missing alt_text [json-pointer:/blocks/${i}]`;
    }
    const elements = (b as { elements?: unknown }).elements;
    if (Array.isArray(elements)) {
      for (const [j, el] of elements.entries()) {
        const value = (el as { value?: unknown }).value;
        if (typeof value === 'string' && value.length > 2000) return `value too long [json-pointer:/blocks/${i}/elements/${j}/value]`;
      }
    }
  }
  return undefined;
}
