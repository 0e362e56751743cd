/**
 * A bare vector table (id, brand, image_embedding) built from flat Float32Arrays: what the
 * library benchmark loads at 100k–1M rows. It uses the library's own column name, index settings
 * and query builder (ann.ts), so the benchmark measures the queries the library runs.
 */
import type * as lancedb from '@lancedb/lancedb';
import { Table as ArrowTable, Field, FixedSizeList, Float32, makeData, makeVector, Utf8, vectorFromArray } from 'apache-arrow';
import { type AnnSettings, buildScalarIndex, buildVectorIndex, vectorQuery } from './ann.ts';
import { connectLance } from './connect.ts';
import { IMAGE_VECTOR } from './schema.ts';

export interface VectorBatch {
  ids: string[];
  brands: string[];
  /** Row-major, `ids.length × dims`, L2-normalised. */
  vectors: Float32Array;
}

export class VectorTable {
  private constructor(
    private readonly db: lancedb.Connection,
    private table: lancedb.Table | undefined,
    private readonly name: string,
    readonly dims: number,
  ) {}

  static async create(uri: string, name: string, dims: number): Promise<VectorTable> {
    const db = await connectLance(uri);
    if ((await db.tableNames()).includes(name)) await db.dropTable(name);
    return new VectorTable(db, undefined, name, dims);
  }

  private arrow(b: VectorBatch): ArrowTable {
    const n = b.ids.length;
    const child = makeData({ type: new Float32(), length: n * this.dims, nullCount: 0, data: b.vectors });
    const type = new FixedSizeList(this.dims, new Field('item', new Float32(), true));
    const vec = makeVector(makeData({ type, length: n, nullCount: 0, child }));
    return new ArrowTable({ id: vectorFromArray(b.ids, new Utf8()), brand: vectorFromArray(b.brands, new Utf8()), [IMAGE_VECTOR]: vec });
  }

  async add(b: VectorBatch): Promise<void> {
    const data = this.arrow(b);
    if (!this.table) this.table = await this.db.createTable(this.name, data);
    else await this.table.add(data);
  }

  private t(): lancedb.Table {
    if (!this.table) throw new Error('the vector table is empty');
    return this.table;
  }

  async count(): Promise<number> {
    return this.t().countRows();
  }

  async buildVectorIndex(s: AnnSettings): Promise<void> {
    await buildVectorIndex(this.t(), IMAGE_VECTOR, s);
  }

  async buildBrandIndex(): Promise<void> {
    await buildScalarIndex(this.t(), 'brand', 'bitmap');
  }

  async optimize(): Promise<void> {
    await this.t().optimize();
  }

  /** Top-k ids, best first: exact (flat) without `ann`, else IVF_PQ with refinement. */
  async search(vector: Float32Array, k: number, opts: { brand?: string; ann?: AnnSettings } = {}): Promise<string[]> {
    const where = opts.brand ? `brand = '${opts.brand.replace(/'/g, "''")}'` : undefined;
    const rows = await vectorQuery(this.t(), IMAGE_VECTOR, vector, { k, where, ann: opts.ann, select: ['id'] }).toArray();
    return rows.map((r) => String((r as { id: unknown }).id));
  }

  async close(): Promise<void> {
    this.table?.close();
    this.db.close();
  }
}
