/**
 * Column-wise reads straight out of DuckDB's result chunks into Float64Arrays: one allocation per
 * column, one bulk copy per chunk and column, no per-row objects or DuckDBValue boxing.
 * DOUBLE columns are copied from the chunk's own memory (two native calls per chunk and column);
 * anything else falls back to the vector's item reader.
 */
import {
  type DuckDBConnection,
  type DuckDBDataChunk,
  DuckDBMaterializedResult,
  type DuckDBResult,
  DuckDBTypeId,
} from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';
import { AppError } from '../platform';

type SqlParams = Parameters<DuckDBConnection['run']>[1];

/** Runs `sql` and returns one Float64Array per selected column, in order (NULL reads as NaN). */
export async function readFloat64Columns<const N extends readonly string[]>(
  conn: DuckDBConnection,
  sql: string,
  params: SqlParams,
  names: N,
): Promise<{ [K in N[number]]: Float64Array } & { rowCount: number }> {
  const result: DuckDBResult = await conn.run(sql, params);
  if (result.columnCount !== names.length) {
    throw new AppError('internal', `column reader expected ${names.length} columns, the query returned ${result.columnCount}`, {
      status: 500,
    });
  }
  const isDouble = names.map((_, c) => result.columnTypeId(c) === DuckDBTypeId.DOUBLE);
  const copyChunk = (chunk: DuckDBDataChunk, columns: Float64Array[], offset: number) => {
    for (let c = 0; c < columns.length; c++) {
      if (isDouble[c]) copyDoubles(chunk, c, columns[c], offset);
      else copyAny(chunk, c, columns[c], offset);
    }
  };
  let columns: Float64Array[];
  let rowCount: number;
  if (result instanceof DuckDBMaterializedResult) {
    // The row count is known up front: allocate once, copy chunk by chunk, keep no chunk alive.
    rowCount = result.rowCount;
    columns = names.map(() => new Float64Array(rowCount));
    let offset = 0;
    for (let i = 0; i < result.chunkCount; i++) {
      const chunk = result.getChunk(i);
      copyChunk(chunk, columns, offset);
      offset += chunk.rowCount;
    }
  } else {
    const chunks: DuckDBDataChunk[] = [];
    rowCount = 0;
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      chunks.push(chunk);
      rowCount += chunk.rowCount;
    }
    columns = names.map(() => new Float64Array(rowCount));
    let offset = 0;
    for (const chunk of chunks) {
      copyChunk(chunk, columns, offset);
      offset += chunk.rowCount;
    }
  }
  const out: Record<string, Float64Array | number> = { rowCount };
  names.forEach((name, c) => {
    out[name] = columns[c];
  });
  return out as { [K in N[number]]: Float64Array } & { rowCount: number };
}

function copyDoubles(chunk: DuckDBDataChunk, c: number, into: Float64Array, offset: number): void {
  const n = chunk.rowCount;
  const vector = bindings.data_chunk_get_vector(chunk.chunk, c);
  const bytes = bindings.vector_get_data(vector, n * 8);
  if (bytes.byteOffset % 8 === 0) into.set(new Float64Array(bytes.buffer, bytes.byteOffset, n), offset);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, n * 8);
    for (let i = 0; i < n; i++) into[offset + i] = view.getFloat64(i * 8, true);
  }
  const validity = bindings.vector_get_validity(vector, Math.ceil(n / 64) * 8);
  if (!validity) return; // no NULLs in this vector
  for (let i = 0; i < n; i++) if ((validity[i >> 3] & (1 << (i & 7))) === 0) into[offset + i] = Number.NaN;
}

function copyAny(chunk: DuckDBDataChunk, c: number, into: Float64Array, offset: number): void {
  const vector = chunk.getColumnVector(c);
  for (let i = 0; i < chunk.rowCount; i++) {
    const v = vector.getItem(i);
    into[offset + i] = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v == null ? Number.NaN : Number(v);
  }
}
