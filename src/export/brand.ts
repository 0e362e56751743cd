/** A brand kit (generate/brands.ts) as an export needs it. */
import { loadBrand } from '../generate/brands.ts';
import type { ExportBrand } from './types.ts';

/** A brand kit as an export needs it (its display name, logo and plate colour). */
export function exportBrand(brandsDir: string, name: string): ExportBrand {
  const kit = loadBrand(brandsDir, name);
  return { name: kit.name, displayName: kit.displayName || kit.name, logo: kit.logo.length ? kit.logo : undefined, background: '#FFFFFF' };
}
