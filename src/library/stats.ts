/** `library stats`: row counts, breakdowns, metric totals, the CTR prior and the index state. */
import type { LiveTable } from './live-table.ts';
import { ctrPrior } from './search.ts';
import type { LibraryStats } from './types.ts';

function countInto(m: Record<string, number>, k: string): void {
  m[k || '(none)'] = (m[k || '(none)'] ?? 0) + 1;
}

export async function tableStats(live: LiveTable, opts: { ctrPriorStrength: number | 'auto'; building: boolean }): Promise<LibraryStats> {
  const s: LibraryStats = {
    uri: live.uri,
    model: live.model,
    dims: live.dims,
    rows: 0,
    demoRows: 0,
    winnerRows: 0,
    brands: {},
    channels: {},
    formats: {},
    impressions: 0,
    clicks: 0,
    conversions: 0,
    ctrPrior: await ctrPrior(live, opts.ctrPriorStrength),
    index: { vector: live.annIndexed, scalar: [], unindexedRows: 0, building: opts.building, builtForRows: live.indexRows ?? null },
    version: 0,
  };
  if (!live.table) return s;
  const t = await live.table
    .query()
    .select(['brand', 'channel', 'format', 'demo', 'source', 'impressions', 'clicks', 'conversions'])
    .toArrow();
  const col = (n: string) => t.getChild(n);
  const [brand, channel, format, demo, source, imp, clk, conv] = [
    'brand',
    'channel',
    'format',
    'demo',
    'source',
    'impressions',
    'clicks',
    'conversions',
  ].map(col);
  for (let i = 0; i < t.numRows; i++) {
    countInto(s.brands, String(brand?.get(i) ?? ''));
    countInto(s.channels, String(channel?.get(i) ?? ''));
    countInto(s.formats, String(format?.get(i) ?? ''));
    if (demo?.get(i) === true) s.demoRows++;
    else if (String(source?.get(i) ?? '').startsWith('winner:')) s.winnerRows++;
    s.impressions += Number(imp?.get(i) ?? 0);
    s.clicks += Number(clk?.get(i) ?? 0);
    s.conversions += Number(conv?.get(i) ?? 0);
  }
  s.rows = t.numRows;
  s.version = await live.table.version();
  for (const ix of await live.table.listIndices()) {
    if (!/ivf|hnsw|pq/i.test(ix.indexType)) s.index.scalar.push(`${ix.columns.join(',')} (${ix.indexType})`);
    else {
      const st = await live.table.indexStats(ix.name);
      s.index.unindexedRows = Math.max(s.index.unindexedRows, st?.numUnindexedRows ?? 0);
    }
  }
  return s;
}
