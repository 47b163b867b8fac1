/**
 * Bulk bar I/O for the pipeline: read a series into typed arrays, and write indicators back into
 * `bars.indicators` through a temp staging table filled chunk by chunk (typed-array copies, no
 * per-row objects), then one UPDATE … FROM join. The same staged rows feed the Parquet artifact.
 */
import { createHash } from 'node:crypto';
import {
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDoubleType,
  DuckDBDoubleVector,
  type DuckDBType,
  type DuckDBVector,
} from '@duckdb/node-api';
import type { BarSize } from '../ibkr/types';
import type { BarColumns, CacheDataType } from '../marketdata/types';
import type { Warehouse } from '../storage/warehouse';
import { INDICATOR_NAMES, type IndicatorColumns } from './indicators';

export interface SeriesSelector {
  exchange: string;
  dataType: CacheDataType;
  barSize: BarSize;
  useRTH: boolean;
}

export interface SymbolSeries {
  symbol: string;
  bars: BarColumns;
  indicators: IndicatorColumns;
}

const BAR_COLS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;
const CHUNK = 2048;

/** Reads several symbols' bars in one query into one set of columns per symbol (ts in epoch ms). */
export async function readSeries(
  warehouse: Warehouse,
  symbols: string[],
  sel: SeriesSelector,
  range: { from: number; to: number },
): Promise<Map<string, BarColumns>> {
  const conn = warehouse.connection;
  const counts = await warehouse.rows<{ symbol: string; n: number }>(
    `SELECT symbol, count(*)::BIGINT AS n FROM bars
      WHERE symbol IN (SELECT unnest($symbols::VARCHAR[])) AND exchange = $exchange AND data_type = $dataType
        AND bar_size = $barSize AND use_rth = $useRTH AND ts >= make_timestamp($from::BIGINT * 1000) AND ts < make_timestamp($to::BIGINT * 1000)
      GROUP BY symbol ORDER BY symbol`,
    { symbols: listLiteral(symbols), ...selParams(sel), from: range.from, to: range.to },
  );
  const total = counts.reduce((a, c) => a + c.n, 0);
  const all = Object.fromEntries(BAR_COLS.map((c) => [c, new Float64Array(total)])) as unknown as BarColumns;
  const result = await conn.run(
    `SELECT (epoch_us(ts) / 1000)::DOUBLE, open, high, low, close, volume FROM bars
      WHERE symbol IN (SELECT unnest($symbols::VARCHAR[])) AND exchange = $exchange AND data_type = $dataType
        AND bar_size = $barSize AND use_rth = $useRTH AND ts >= make_timestamp($from::BIGINT * 1000) AND ts < make_timestamp($to::BIGINT * 1000)
      ORDER BY symbol, ts`,
    { symbols: listLiteral(symbols), ...selParams(sel), from: range.from, to: range.to },
  );
  let offset = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const rows = chunk.rowCount;
    for (let c = 0; c < BAR_COLS.length; c++) copyInto(chunk.getColumnVector(c), all[BAR_COLS[c]], offset, rows);
    offset += rows;
  }
  const out = new Map<string, BarColumns>();
  let start = 0;
  for (const { symbol, n } of counts) {
    const slice = Object.fromEntries(BAR_COLS.map((c) => [c, all[c].subarray(start, start + n)])) as unknown as BarColumns;
    out.set(symbol, slice);
    start += n;
  }
  return out;
}

/** The vector's backing memory (a private field of @duckdb/node-api 1.5, read and written in bulk here). */
interface RawDoubleVector {
  items: Float64Array;
  validity: { data: unknown; itemValid(i: number): boolean; setItemValid(i: number, valid: boolean): void };
  flush(): void;
}

function raw(vector: DuckDBVector): RawDoubleVector {
  return vector as unknown as RawDoubleVector;
}

function copyInto(vector: DuckDBVector, into: Float64Array, offset: number, count: number): void {
  if (vector instanceof DuckDBDoubleVector && raw(vector).items?.length === count) {
    into.set(raw(vector).items, offset);
    const validity = raw(vector).validity;
    if (validity.data) for (let i = 0; i < count; i++) if (!validity.itemValid(i)) into[offset + i] = Number.NaN;
    return;
  }
  for (let i = 0; i < count; i++) {
    const v = vector.getItem(i);
    into[offset + i] = typeof v === 'number' ? v : v == null ? Number.NaN : Number(v);
  }
}

/** Column list of the staging table: symbol index, bar time (epoch ms), then the indicators; all DOUBLE. */
export const STAGE_COLUMNS = ['sym', 'ts', ...INDICATOR_NAMES] as const;

/**
 * Stages every series' indicators in a temp table on `conn` (one transaction's connection) through
 * one reused DataChunk: each column block is one typed-array copy. Warm-up NaNs become NULLs.
 * Returns the table name.
 */
export async function stageIndicators(conn: DuckDBConnection, series: SymbolSeries[]): Promise<string> {
  const table = 'pipeline_stage';
  await conn.run(`DROP TABLE IF EXISTS temp.${table}`);
  await conn.run(`CREATE TEMP TABLE ${table} (${STAGE_COLUMNS.map((c) => `"${c}" DOUBLE`).join(', ')})`);
  const appender = await conn.createAppender(table, 'main', 'temp');
  const types: DuckDBType[] = STAGE_COLUMNS.map(() => DuckDBDoubleType.instance);
  const chunk = DuckDBDataChunk.create(types, CHUNK);
  const vectors = STAGE_COLUMNS.map((_, c) => raw(chunk.getColumnVector(c)));
  try {
    for (let s = 0; s < series.length; s++) {
      const { bars, indicators } = series[s];
      const n = bars.ts.length;
      const sources: Float64Array[] = [bars.ts, ...INDICATOR_NAMES.map((k) => indicators[k])];
      for (let off = 0; off < n; off += CHUNK) {
        const len = Math.min(CHUNK, n - off);
        if (len !== chunk.rowCount) chunk.rowCount = len;
        const sym = vectors[0];
        sym.items.fill(s);
        sym.flush();
        for (let c = 0; c < sources.length; c++) {
          const vec = vectors[c + 1];
          const src = sources[c].subarray(off, off + len);
          vec.items.set(src);
          let hasNaN = false;
          for (let i = 0; i < len; i++) {
            if (Number.isNaN(src[i])) {
              hasNaN = true;
              break;
            }
          }
          const validity = vec.validity as RawDoubleVector['validity'] & { data: BigUint64Array | null };
          if (hasNaN) {
            validity.data?.fill(0xffffffffffffffffn);
            for (let i = 0; i < len; i++) if (Number.isNaN(src[i])) validity.setItemValid(i, false);
          } else if (validity.data) {
            validity.data.fill(0xffffffffffffffffn);
          }
          vec.flush();
        }
        appender.appendDataChunk(chunk);
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return table;
}

/** sha256 over a series' timestamps and indicator columns: what was last written for it. */
export function indicatorChecksum(one: SymbolSeries): string {
  const h = createHash('sha256');
  for (const a of [one.bars.ts, ...INDICATOR_NAMES.map((k) => one.indicators[k])]) {
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex');
}

/**
 * Writes every series' indicators into bars.indicators (JSON), one transaction per symbol: a symbol's
 * indicators land together or not at all, and the undo/WAL memory of a huge update stays bounded by
 * one symbol. A DuckDB UPDATE of many rows is by far the dearest step, so a series whose indicators
 * are exactly what was last written (same checksum over ts + indicators, and every bar in that range
 * still carries indicators) is not rewritten: a daily re-run over an unchanged history costs a read.
 * Returns the number of bars written.
 */
export async function writeBackIndicators(warehouse: Warehouse, series: SymbolSeries[], sel: SeriesSelector): Promise<number> {
  const json = `json_object(${INDICATOR_NAMES.map((k) => `'${k}', s."${k}"`).join(', ')})`;
  let total = 0;
  for (const one of series) {
    const n = one.bars.ts.length;
    if (n === 0) continue;
    const checksum = indicatorChecksum(one);
    const key = { symbol: one.symbol, ...selParams(sel), first: one.bars.ts[0], last: one.bars.ts[n - 1] };
    const [previous] = await warehouse.rows<{ same: boolean; filled: number }>(
      `SELECT w.checksum = $checksum AND w.rows = $rows AS same,
              (SELECT count(*) FROM bars b
                WHERE b.symbol = $symbol AND b.exchange = $exchange AND b.data_type = $dataType AND b.bar_size = $barSize
                  AND b.use_rth = $useRTH AND b.ts BETWEEN make_timestamp($first::BIGINT * 1000) AND make_timestamp($last::BIGINT * 1000)
                  AND b.indicators IS NOT NULL)::BIGINT AS filled
         FROM pipeline_indicator_writes w
        WHERE w.symbol = $symbol AND w.exchange = $exchange AND w.data_type = $dataType AND w.bar_size = $barSize AND w.use_rth = $useRTH
          AND w.first_ts = make_timestamp($first::BIGINT * 1000) AND w.last_ts = make_timestamp($last::BIGINT * 1000)`,
      { ...key, checksum, rows: n },
    );
    if (previous?.same && previous.filled === n) continue;
    total += await warehouse.transaction(async (conn) => {
      const table = await stageIndicators(conn, [one]);
      const result = await conn.run(
        `UPDATE bars SET indicators = ${json}
           FROM (SELECT make_timestamp((ts * 1000)::BIGINT) AS bar_ts, * FROM temp.${table}) s
          WHERE bars.symbol = $symbol AND bars.ts = s.bar_ts AND bars.exchange = $exchange AND bars.data_type = $dataType
            AND bars.bar_size = $barSize AND bars.use_rth = $useRTH`,
        { symbol: one.symbol, ...selParams(sel) },
      );
      await conn.run(`DROP TABLE temp.${table}`);
      await conn.run(
        `INSERT OR REPLACE INTO pipeline_indicator_writes
           VALUES ($symbol, $exchange, $dataType, $barSize, $useRTH, make_timestamp($first::BIGINT * 1000),
                   make_timestamp($last::BIGINT * 1000), $rows, $checksum, now())`,
        { ...key, rows: n, checksum },
      );
      return Number(result.rowsChanged);
    });
  }
  return total;
}

/** SQL for the transformed data as a tidy table (symbol, ts, OHLCV, one column per indicator), for the Parquet artifact. */
export function transformedTableSql(symbols: string[], sel: SeriesSelector, range: { from: number; to: number }): string {
  const q = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const shape = `{${INDICATOR_NAMES.map((k) => `"${k}": "DOUBLE"`).join(', ')}}`;
  return `SELECT symbol, ts, open, high, low, close, volume, unnest(json_transform(indicators, '${shape}'))
            FROM bars
           WHERE symbol IN (${symbols.map(q).join(', ')}) AND exchange = ${q(sel.exchange)} AND data_type = ${q(sel.dataType)}
             AND bar_size = ${q(sel.barSize)} AND use_rth = ${sel.useRTH}
             AND ts >= make_timestamp(${Math.round(range.from)}::BIGINT * 1000) AND ts < make_timestamp(${Math.round(range.to)}::BIGINT * 1000)
           ORDER BY symbol, ts`;
}

function selParams(sel: SeriesSelector) {
  return { exchange: sel.exchange, dataType: sel.dataType, barSize: sel.barSize, useRTH: sel.useRTH };
}

/** DuckDB list literal passed as a VARCHAR parameter and cast in SQL (the node API binds scalars). */
function listLiteral(values: string[]): string {
  return `[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ')}]`;
}
