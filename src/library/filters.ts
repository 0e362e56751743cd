/**
 * Search filters as a LanceDB SQL predicate. Values are escaped here, so nothing a user typed
 * ever becomes SQL.
 */
import { InputError } from '../errors.ts';
import { audienceTag, normaliseAudience } from './audience.ts';
import { sqlString } from './schema.ts';
import type { SearchFilters } from './types.ts';

function timestamp(d: Date, what: string): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new InputError('FILTER_INVALID', `${what} must be a valid date`);
  // DataFusion's timestamp literal: no zone suffix, milliseconds kept.
  return `timestamp '${d.toISOString().replace('T', ' ').replace('Z', '')}'`;
}

export function filtersToSql(f: SearchFilters | undefined, extra: string[] = []): string | undefined {
  const parts = [...extra];
  if (f?.brand) parts.push(`brand = ${sqlString(f.brand.toLowerCase())}`);
  if (f?.channel) parts.push(`channel = ${sqlString(f.channel.toLowerCase())}`);
  if (f?.format) parts.push(`format = ${sqlString(f.format.toLowerCase())}`);
  if (f?.audience !== undefined) {
    if (!normaliseAudience(f.audience))
      throw new InputError('FILTER_INVALID', 'audience must name a segment, e.g. "students"; got an empty one');
    parts.push(`array_has(tags, ${sqlString(audienceTag(f.audience))})`);
  }
  if (f?.since) parts.push(`created_at >= ${timestamp(f.since, 'since')}`);
  if (f?.until) parts.push(`created_at <= ${timestamp(f.until, 'until')}`);
  if (f?.minImpressions !== undefined) {
    if (!Number.isFinite(f.minImpressions) || f.minImpressions < 0) {
      throw new InputError('FILTER_INVALID', `minImpressions must be a number ≥ 0; got ${f.minImpressions}`);
    }
    parts.push(`impressions >= ${Math.floor(f.minImpressions)}`);
  }
  return parts.length ? parts.join(' AND ') : undefined;
}
