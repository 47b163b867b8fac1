/**
 * Bulk bar I/O for the pipeline: read series into typed arrays, and write their indicators into the
 * `bar_indicators` side table (marketdata/0003, narrowed by 0004) by DELETE of the series' range + DataChunk appends
 * (typed-array copies, no per-row objects or calls). Readers see them through `bars_with_indicators`.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import {
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBDoubleType,
  DuckDBIntegerType,
  DuckDBTimestampType,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBVector,
} from '@duckdb/node-api';
import type { BarSize } from '../ibkr/types';
import { readFloat64Columns } from '../marketdata/columns';
import type { BarColumns, CacheDataType } from '../marketdata/types';
import type { Warehouse } from '../storage/warehouse';
import { INDICATOR_FORMULAS, INDICATOR_NAMES, type IndicatorColumns, type IndicatorName } from './indicators';

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
  /** The earlier bars the indicators were started from (warm-up), not written: they feed the checksum. */
  warmup?: BarColumns | null;
}

const BAR_COLS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;

/**
 * The indicators `bar_indicators` stores (marketdata/0004). The other three — range, range_pct, macd_hist — are
 * per-row expressions of the bar and of macd/macd_signal that `bars_with_indicators` computes bit-identically.
 */
export const STORED_INDICATORS = [
  'return',
  'log_return',
  'sma_20',
  'sma_50',
  'rsi_14',
  'macd',
  'macd_signal',
] as const satisfies readonly IndicatorName[];
const CHUNK = 2048;

/**
 * Reads several symbols' bars in one query into one set of columns per symbol (ts in epoch ms), in symbol
 * then ts order. One scan without ORDER BY, copied through `readFloat64Columns` (the chunk's DOUBLE memory
 * straight into Float64Arrays); the symbol comes back as its position in the (sorted) symbol list, so no
 * separate count query and no VARCHAR column. Rows arrive in storage order, which for a cache written series
 * by series is already (symbol, ts): then each symbol's columns are subarrays of one allocation. Symbols that
 * interleave in blocks are regrouped by block copies (each symbol's blocks in storage order); only if some
 * symbol's ts go backwards in storage (a back-filled range) or the rows interleave finely is the query repeated
 * with ORDER BY.
 */
export async function readSeries(
  warehouse: Warehouse,
  symbols: string[],
  sel: SeriesSelector,
  range: { from: number; to: number },
): Promise<Map<string, BarColumns>> {
  const sorted = [...new Set(symbols)].sort();
  const params = { symbols: listLiteral(sorted), ...selParams(sel), from: range.from, to: range.to };
  const sql = (orderBy: string) =>
    `SELECT list_position($symbols::VARCHAR[], symbol)::DOUBLE, (epoch_us(ts) / 1000)::DOUBLE, open, high, low, close, volume
       FROM bars
      WHERE list_contains($symbols::VARCHAR[], symbol) AND exchange = $exchange AND data_type = $dataType
        AND bar_size = $barSize AND use_rth = $useRTH AND ts >= make_timestamp($from::BIGINT * 1000) AND ts < make_timestamp($to::BIGINT * 1000)
      ${orderBy}`;
  const names = ['sym', ...BAR_COLS] as const;
  let cols = await readFloat64Columns(warehouse.connection, sql(''), params, names);
  let runs = storageRuns(cols.sym, cols.ts, sorted.length);
  if (!runs) {
    cols = await readFloat64Columns(warehouse.connection, sql('ORDER BY 1, 2'), params, names);
    runs = storageRuns(cols.sym, cols.ts, sorted.length) as Run[];
  }
  const n = cols.rowCount;
  const counts = new Float64Array(sorted.length + 1);
  for (const r of runs) counts[r.sym] += r.end - r.start;
  let all: Record<(typeof BAR_COLS)[number], Float64Array> = cols;
  if (runs.some((r, i) => i > 0 && r.sym <= runs[i - 1].sym)) {
    // Symbols interleave in storage: copy each symbol's runs, in storage order (= its ts order), block by block.
    const bySymbol = [...runs].sort((x, y) => x.sym - y.sym || x.start - y.start);
    all = Object.fromEntries(
      BAR_COLS.map((c) => {
        const src = cols[c];
        const out = new Float64Array(n);
        let at = 0;
        for (const r of bySymbol) {
          out.set(src.subarray(r.start, r.end), at);
          at += r.end - r.start;
        }
        return [c, out];
      }),
    ) as typeof all;
  }
  const out = new Map<string, BarColumns>();
  let start = 0;
  for (let p = 1; p <= sorted.length; p++) {
    const count = counts[p];
    if (count === 0) continue;
    out.set(
      sorted[p - 1],
      Object.fromEntries(BAR_COLS.map((c) => [c, all[c].subarray(start, start + count)])) as unknown as BarColumns,
    );
    start += count;
  }
  return out;
}

interface Run {
  sym: number;
  start: number;
  end: number;
}

/**
 * The result's runs of one symbol, in storage order; null if some symbol's ts go backwards in storage order
 * (its rows then need sorting, not just regrouping) or there are too many runs for block copies to pay.
 */
function storageRuns(sym: Float64Array, ts: Float64Array, symbols: number): Run[] | null {
  const lastTs = new Float64Array(symbols + 1).fill(Number.NEGATIVE_INFINITY);
  const maxRuns = 1024 + (sym.length >> 8);
  const runs: Run[] = [];
  let run = null as Run | null;
  for (let i = 0; i < sym.length; i++) {
    const p = sym[i] | 0;
    if (ts[i] < lastTs[p]) return null;
    lastTs[p] = ts[i];
    if (run?.sym !== p) {
      if (run) run.end = i;
      run = { sym: p, start: i, end: sym.length };
      if (runs.push(run) > maxRuns) return null;
    }
  }
  return runs;
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

/** How many bars one write transaction takes at most (whole series; a series is never split). */
const ROWS_PER_TRANSACTION = 1 << 21;
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Appends series' indicators to `bar_indicators` (series_id, ts, one DOUBLE per stored indicator) on `conn`
 * through one reused DataChunk: each column block is one typed-array copy, the timestamps are written
 * as int64 microseconds without BigInt allocations, warm-up NaNs become NULLs. No per-row calls.
 * `table`: another table of bar_indicators' columns (the pipeline bench measures DuckDB's own write floor with it).
 */
export async function appendIndicators(
  conn: DuckDBConnection,
  series: readonly { seriesId: number; one: SymbolSeries }[],
  table = 'bar_indicators',
): Promise<number> {
  const types: DuckDBType[] = [
    DuckDBIntegerType.instance,
    DuckDBTimestampType.instance,
    ...STORED_INDICATORS.map(() => DuckDBDoubleType.instance),
  ];
  const appender = await conn.createAppender(table);
  const chunk = DuckDBDataChunk.create(types, CHUNK);
  // Setting a chunk's rowCount drops its cached vectors: fetch them again after every resize.
  let vectors = types.map((_, c) => raw(chunk.getColumnVector(c)));
  let rows = 0;
  try {
    for (const { seriesId, one } of series) {
      const n = one.bars.ts.length;
      const sources = STORED_INDICATORS.map((k) => one.indicators[k]);
      for (let off = 0; off < n; off += CHUNK) {
        const len = Math.min(CHUNK, n - off);
        if (len !== chunk.rowCount) {
          chunk.rowCount = len;
          vectors = types.map((_, c) => raw(chunk.getColumnVector(c)));
        }
        (vectors[0].items as unknown as Int32Array).fill(seriesId);
        vectors[0].flush();
        writeMicros(vectors[1].items as unknown as BigInt64Array, one.bars.ts, off, len);
        vectors[1].flush();
        for (let c = 0; c < sources.length; c++) {
          const vec = vectors[c + 2];
          const src = sources[c].subarray(off, off + len);
          vec.items.set(src);
          const validity = vec.validity as RawDoubleVector['validity'] & { data: BigUint64Array | null };
          let hasNaN = false;
          for (let i = 0; i < len; i++) {
            if (Number.isNaN(src[i])) {
              hasNaN = true;
              break;
            }
          }
          // A reused vector may still carry NULL bits from the previous block: reset them first.
          validity.data?.fill(0xffffffffffffffffn);
          if (hasNaN) for (let i = 0; i < len; i++) if (Number.isNaN(src[i])) validity.setItemValid(i, false);
          vec.flush();
        }
        appender.appendDataChunk(chunk);
        rows += len;
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return rows;
}

/** Epoch ms (whole or fractional) → int64 µs, written as two 32-bit halves (exact below 2^53 µs). */
function writeMicros(into: BigInt64Array, ms: Float64Array, off: number, len: number): void {
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < len; i++) into[i] = BigInt(Math.round(ms[off + i] * 1000));
    return;
  }
  const lo = new Uint32Array(into.buffer, into.byteOffset, len * 2);
  const hi = new Int32Array(into.buffer, into.byteOffset, len * 2);
  for (let i = 0; i < len; i++) {
    const us = Math.round(ms[off + i] * 1000);
    const high = Math.floor(us / 4294967296);
    lo[2 * i] = us - high * 4294967296;
    hi[2 * i + 1] = high;
  }
}

/**
 * What the stored indicators of a series are a function of: the formulas (the source of every function they depend on, INDICATOR_FORMULAS),
 * the bars' timestamps and their closes — every stored column derives from close alone (range, range_pct and
 * macd_hist, which read high/low, are computed by the view). Hashing these 16 bytes a bar instead of the
 * 64 written is what lets an unchanged re-run skip cheaply; `one.indicators` must be the last `one.bars` rows of
 * `computeIndicators(warmup ++ bars)`, so the warm-up bars are hashed too.
 */
export function indicatorChecksum(one: SymbolSeries): string {
  const h = createHash('sha256').update(FORMULAS);
  h.update(`warmup:${one.warmup?.ts.length ?? 0}\n`);
  const arrays = [one.warmup?.ts, one.warmup?.close, one.bars.ts, one.bars.close];
  for (const a of arrays) if (a) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}
const FORMULAS = `${STORED_INDICATORS.join(',')}\n${INDICATOR_FORMULAS}`;

/**
 * Writes every series' indicators into `bar_indicators` (marketdata/0003; read them through the
 * `bars_with_indicators` view): per series, the rows of its range [first bar, last bar] are deleted and
 * the new ones appended in bulk — the same bars the old `UPDATE bars SET indicators` reached, at a
 * fraction of the cost (a DuckDB UPDATE of a million rows took ~10 s; DELETE + append of typed columns
 * into an unindexed table is one pass). Series are written in as few transactions as possible (up to
 * ROWS_PER_TRANSACTION bars each): a transaction that appends at least a row group (122,880 rows) writes it
 * straight to the database file instead of the WAL, so batching is faster than a transaction per symbol;
 * each batch lands whole or not at all. A series whose indicators are exactly what was last written (same
 * checksum over ts + indicators, and every bar of that range still has its row) is skipped.
 * Returns the number of bars written.
 */
export async function writeBackIndicators(warehouse: Warehouse, series: SymbolSeries[], sel: SeriesSelector): Promise<number> {
  const nonEmpty = series.filter((one) => one.bars.ts.length > 0);
  // What was last written for these series, and how many of those bars still have their row: one query.
  const previous = new Map(
    (
      await warehouse.rows<{ symbol: string; checksum: string; rows: number; first: number; last: number; filled: number }>(
        `SELECT w.symbol, w.checksum, w.rows, epoch_ms(w.first_ts) AS first, epoch_ms(w.last_ts) AS last,
                (SELECT count(*) FROM bar_indicators i
                  WHERE i.series_id = s.series_id AND i.ts BETWEEN w.first_ts AND w.last_ts)::BIGINT AS filled
           FROM pipeline_indicator_writes w
           JOIN bar_indicator_series s USING (symbol, exchange, data_type, bar_size, use_rth)
          WHERE list_contains($symbols::VARCHAR[], w.symbol) AND w.exchange = $exchange AND w.data_type = $dataType
            AND w.bar_size = $barSize AND w.use_rth = $useRTH`,
        { symbols: listLiteral(nonEmpty.map((one) => one.symbol)), ...selParams(sel) },
      )
    ).map((r) => [r.symbol, r]),
  );
  const changed: { one: SymbolSeries; checksum: string }[] = [];
  for (const one of nonEmpty) {
    const n = one.bars.ts.length;
    const checksum = indicatorChecksum(one);
    const p = previous.get(one.symbol);
    const same =
      p?.checksum === checksum &&
      p.rows === n &&
      p.filled === n &&
      p.first === Math.round(one.bars.ts[0]) &&
      p.last === Math.round(one.bars.ts[n - 1]);
    if (!same) changed.push({ one, checksum });
  }
  let total = 0;
  for (let start = 0; start < changed.length; ) {
    let end = start;
    let rows = 0;
    while (end < changed.length && (end === start || rows + changed[end].one.bars.ts.length <= ROWS_PER_TRANSACTION)) {
      rows += changed[end].one.bars.ts.length;
      end++;
    }
    const batch = changed.slice(start, end);
    start = end;
    total += await warehouse.transaction((conn) => replaceIndicators(warehouse, conn, batch, sel));
  }
  return total;
}

/**
 * One write transaction: the batch's series ids (created where missing), DELETE of each series' range, the ledger
 * rows, then the appends. One statement each for the DELETEs and the ledger: every statement costs milliseconds.
 */
async function replaceIndicators(
  warehouse: Warehouse,
  conn: DuckDBConnection,
  batch: readonly { one: SymbolSeries; checksum: string }[],
  sel: SeriesSelector,
): Promise<number> {
  const params = { symbols: listLiteral(batch.map((b) => b.one.symbol)), ...selParams(sel) };
  await conn.run(
    `INSERT INTO bar_indicator_series (symbol, exchange, data_type, bar_size, use_rth)
     SELECT symbol, $exchange, $dataType, $barSize, $useRTH FROM (SELECT unnest($symbols::VARCHAR[]) AS symbol) n
      WHERE NOT EXISTS (SELECT 1 FROM bar_indicator_series s WHERE s.symbol = n.symbol AND s.exchange = $exchange
                          AND s.data_type = $dataType AND s.bar_size = $barSize AND s.use_rth = $useRTH)`,
    params,
  );
  const ids = await warehouse.rows<{ symbol: string; id: number }>(
    `SELECT symbol, series_id AS id FROM bar_indicator_series
      WHERE symbol IN (SELECT unnest($symbols::VARCHAR[])) AND exchange = $exchange AND data_type = $dataType
        AND bar_size = $barSize AND use_rth = $useRTH`,
    params,
    conn,
  );
  const idOf = new Map(ids.map((r) => [r.symbol, r.id]));
  const items = batch.map(({ one }) => ({ seriesId: idOf.get(one.symbol) as number, one }));
  const ranges = items.map(
    ({ seriesId, one }) => `(${seriesId}, ${Math.round(one.bars.ts[0])}, ${Math.round(one.bars.ts.at(-1) as number)})`,
  );
  await conn.run(
    `DELETE FROM bar_indicators i USING (VALUES ${ranges.join(', ')}) r(series_id, first_ms, last_ms)
      WHERE i.series_id = r.series_id
        AND i.ts BETWEEN make_timestamp(r.first_ms::BIGINT * 1000) AND make_timestamp(r.last_ms::BIGINT * 1000)`,
  );
  const ledger = ledgerRows(batch, sel);
  await conn.run(`INSERT OR REPLACE INTO pipeline_indicator_writes VALUES ${ledger.sql}`, ledger.params);
  return appendIndicators(conn, items);
}

/** VALUES rows of `pipeline_indicator_writes` for a batch (one INSERT, named parameters per row). */
function ledgerRows(batch: readonly { one: SymbolSeries; checksum: string }[], sel: SeriesSelector) {
  const params: Record<string, DuckDBValue> = selParams(sel);
  const rows = batch.map(({ one, checksum }, i) => {
    const n = one.bars.ts.length;
    Object.assign(params, {
      [`s${i}`]: one.symbol,
      [`f${i}`]: one.bars.ts[0],
      [`l${i}`]: one.bars.ts[n - 1],
      [`n${i}`]: n,
      [`c${i}`]: checksum,
    });
    return `($s${i}, $exchange, $dataType, $barSize, $useRTH, make_timestamp($f${i}::BIGINT * 1000), make_timestamp($l${i}::BIGINT * 1000), $n${i}, $c${i}, now())`;
  });
  return { sql: rows.join(', '), params };
}

/** SQL for the transformed data as a tidy table (symbol, ts, OHLCV, one column per indicator), for the Parquet artifact. */
export function transformedTableSql(symbols: string[], sel: SeriesSelector, range: { from: number; to: number }): string {
  const q = (v: string) => `'${v.replace(/'/g, "''")}'`;
  return `SELECT symbol, ts, open, high, low, close, volume, ${INDICATOR_NAMES.map((k) => `"${k}"`).join(', ')}
            FROM bars_with_indicators
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
