/**
 * Bulk bar I/O for the pipeline: read series into typed arrays, and write their indicators as one Parquet file per
 * series (marketdata/0006: typed-array bytes, no per-row objects or calls). Readers see them through
 * `bars_with_indicators`.
 */
import { createHash } from 'node:crypto';
import type { DuckDBValue } from '@duckdb/node-api';
import type { BarSize } from '../ibkr/types';
import { readFloat64Columns } from '../marketdata/columns';
import {
  type IndicatorFileRow,
  indicatorDir,
  lockIndicatorFiles,
  readIndicatorRowsOutside,
  recordIndicatorFiles,
  removeOrphanFiles,
  retireIndicatorFiles,
  STORED_INDICATOR_COLUMNS,
  type StoredIndicatorColumns,
  syncIndicatorDir,
  writeIndicatorFile,
} from '../marketdata/indicator-files';
import type { BarColumns, CacheDataType } from '../marketdata/types';
import { yieldToLoop } from '../platform';
import { encodeParquet, microsFromMs, type ParquetColumn } from '../storage/parquet';
import { sqlString, type Warehouse } from '../storage/warehouse';
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
 * The indicators stored per bar (marketdata/0004). The other three — range, range_pct, macd_hist — are per-row
 * expressions of the bar and of macd/macd_signal that `bars_with_indicators` computes bit-identically.
 */
export const STORED_INDICATORS = STORED_INDICATOR_COLUMNS satisfies readonly IndicatorName[];

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

/**
 * What the stored indicators of a series are a function of: the formulas (the source of every function they depend on, INDICATOR_FORMULAS),
 * the bars' timestamps and their closes — every stored column derives from close alone (range, range_pct and
 * macd_hist, which read high/low, are computed by the view). Hashing these 16 bytes a bar instead of the
 * 64 written is what lets an unchanged re-run skip cheaply; `one.indicators` must be the last `one.bars` rows of
 * `computeIndicators(warmup ++ bars)`, so the warm-up bars are hashed too.
 */
export function indicatorChecksum(one: Pick<SymbolSeries, 'bars' | 'warmup'>): string {
  const h = createHash('sha256').update(FORMULAS);
  h.update(`warmup:${one.warmup?.ts.length ?? 0}\n`);
  const arrays = [one.warmup?.ts, one.warmup?.close, one.bars.ts, one.bars.close];
  for (const a of arrays) if (a) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}
const FORMULAS = `${STORED_INDICATORS.join(',')}\n${INDICATOR_FORMULAS}`;

/**
 * Writes every series' indicators (read them through the `bars_with_indicators` view) — `IndicatorWriteBack` in one
 * call. Returns the number of bars written.
 */
export async function writeBackIndicators(warehouse: Warehouse, series: SymbolSeries[], sel: SeriesSelector): Promise<number> {
  const writer = await IndicatorWriteBack.begin(
    warehouse,
    sel,
    series.map((one) => one.symbol),
  );
  try {
    for (const one of series) await writer.add(one);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return writer.commit();
}

type SeriesBars = Pick<SymbolSeries, 'symbol' | 'bars' | 'warmup'>;

/** What the warehouse holds for one series: its id, the ledger's last write, and its listed file if still present. */
interface SeriesState {
  seriesId: number;
  ledger: { checksum: string; rows: number; first: number; last: number } | null;
  file: IndicatorFileRow | null;
}

/** A series this write-back writes: the ledger row it gets. */
interface Written {
  symbol: string;
  checksum: string;
  first: number;
  last: number;
  rows: number;
}

/**
 * One write-back of indicators, as a session so each series' file is written while the caller reads and computes
 * the next one: `begin` (one query for the symbols) learns what was last written, `add` starts writing a series' new
 * Parquet file (marketdata/0006, core/marketdata/indicator-files.ts) when it changed, and `commit` waits for the
 * files, makes them durable and lists them with the ledger rows in one transaction. Each file holds the series'
 * bars of this run [first, last] plus the rows of its previous file outside that range, so a run over the last days
 * keeps the older bars' values. A series is unchanged when its checksum (ts + closes + formulas: the bars alone, so
 * `needs` can tell before computing) is what the ledger says was last written and its listed file still covers that
 * range. The session holds the indicator folder until `commit` or `abort` settles: always call one.
 */
export class IndicatorWriteBack {
  private readonly pending: Promise<IndicatorFileRow>[] = [];
  private readonly written = new Map<string, Written>();

  private constructor(
    private readonly warehouse: Warehouse,
    private readonly sel: SeriesSelector,
    private readonly states: Map<string, SeriesState>,
    private readonly release: () => void,
  ) {}

  static async begin(warehouse: Warehouse, sel: SeriesSelector, symbols: readonly string[]): Promise<IndicatorWriteBack> {
    const release = await lockIndicatorFiles(warehouse);
    try {
      const present = await removeOrphanFiles(warehouse);
      return new IndicatorWriteBack(warehouse, sel, await seriesStates(warehouse, sel, symbols, present), release);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The ledger row `one` would get, or null when its indicators need no write (unchanged, empty, or added). */
  needs(one: SeriesBars): Written | null {
    const state = this.states.get(one.symbol);
    const n = one.bars.ts.length;
    if (!state) throw new Error(`${one.symbol} was not among the symbols this write-back began with`);
    if (n === 0 || this.written.has(one.symbol)) return null;
    const run = {
      symbol: one.symbol,
      checksum: indicatorChecksum(one),
      first: Math.round(one.bars.ts[0]),
      last: Math.round(one.bars.ts[n - 1]),
      rows: n,
    };
    const { ledger, file } = state;
    const same =
      ledger?.checksum === run.checksum &&
      ledger.rows === n &&
      ledger.first === run.first &&
      ledger.last === run.last &&
      file !== null &&
      file.firstMs <= run.first &&
      file.lastMs >= run.last;
    return same ? null : run;
  }

  /**
   * Starts writing `one`'s file when it changed (a no-op otherwise), then yields one turn of the event loop so the
   * writes under way progress: await it between symbols, or the files wait for the whole loop to finish.
   */
  async add(one: SymbolSeries): Promise<void> {
    const run = this.needs(one);
    if (!run) return;
    const state = this.states.get(one.symbol) as SeriesState;
    this.written.set(one.symbol, run);
    const dir = indicatorDir(this.warehouse.path);
    const own = ownRows(state.file, one);
    const write = own
      ? writeIndicatorFile(dir, state.seriesId, own.ts, own.columns)
      : withRowsOutside(this.warehouse, state.file as IndicatorFileRow, one).then((full) =>
          writeIndicatorFile(dir, state.seriesId, full.ts, full.columns),
        );
    write.catch(() => undefined); // awaited by commit; never an unhandled rejection meanwhile
    this.pending.push(write);
    await yieldToLoop();
  }

  /** Lists nothing: waits for the writes started (their files are left to the next write's sweep) and releases the folder. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.pending);
    this.release();
  }

  /** Waits for the files, lists them with their ledger rows, and releases the folder. Returns the bars written. */
  async commit(): Promise<number> {
    try {
      const files = await Promise.all(this.pending);
      if (files.length === 0) return 0;
      const dir = indicatorDir(this.warehouse.path);
      await syncIndicatorDir(dir);
      const written = [...this.written.values()];
      await this.warehouse.transaction(async (conn) => {
        const ledger = ledgerRows(written, this.sel);
        await conn.run(`INSERT OR REPLACE INTO pipeline_indicator_writes VALUES ${ledger.sql}`, ledger.params);
        await recordIndicatorFiles(conn, dir, files);
      });
      const replaced = written.flatMap((w) => this.states.get(w.symbol)?.file?.file ?? []);
      retireIndicatorFiles(dir, replaced);
      return written.reduce((sum, w) => sum + w.rows, 0);
    } finally {
      this.release();
    }
  }
}

/** Per symbol: its series id (created where missing), the ledger's last write, and its listed file if still present. */
async function seriesStates(
  warehouse: Warehouse,
  sel: SeriesSelector,
  symbols: readonly string[],
  present: ReadonlySet<string>,
): Promise<Map<string, SeriesState>> {
  const states = new Map<string, SeriesState>();
  if (symbols.length === 0) return states;
  const params = { symbols: listLiteral([...new Set(symbols)]), ...selParams(sel) };
  const query = () =>
    warehouse.rows<{
      symbol: string;
      seriesId: number | null;
      checksum: string | null;
      rows: number;
      first: number;
      last: number;
      file: string | null;
      fileRows: number;
      fileFirst: number;
      fileLast: number;
    }>(
      `SELECT n.symbol, s.series_id AS "seriesId", w.checksum, w.rows, epoch_ms(w.first_ts) AS first, epoch_ms(w.last_ts) AS last,
              f.file, f.rows AS "fileRows", epoch_ms(f.first_ts) AS "fileFirst", epoch_ms(f.last_ts) AS "fileLast"
         FROM (SELECT unnest($symbols::VARCHAR[]) AS symbol) n
         LEFT JOIN bar_indicator_series s ON s.symbol = n.symbol AND s.exchange = $exchange AND s.data_type = $dataType
                                          AND s.bar_size = $barSize AND s.use_rth = $useRTH
         LEFT JOIN pipeline_indicator_writes w ON w.symbol = n.symbol AND w.exchange = $exchange AND w.data_type = $dataType
                                          AND w.bar_size = $barSize AND w.use_rth = $useRTH
         LEFT JOIN bar_indicator_files f ON f.series_id = s.series_id`,
      params,
    );
  let rows = await query();
  if (rows.some((r) => r.seriesId === null)) {
    await warehouse.run(
      `INSERT INTO bar_indicator_series (symbol, exchange, data_type, bar_size, use_rth)
       SELECT symbol, $exchange, $dataType, $barSize, $useRTH FROM (SELECT unnest($symbols::VARCHAR[]) AS symbol) n
        WHERE NOT EXISTS (SELECT 1 FROM bar_indicator_series s WHERE s.symbol = n.symbol AND s.exchange = $exchange
                            AND s.data_type = $dataType AND s.bar_size = $barSize AND s.use_rth = $useRTH)`,
      params,
    );
    rows = await query();
  }
  for (const r of rows) {
    if (r.seriesId === null) throw new Error(`${r.symbol}: no indicator series id`);
    const file =
      r.file !== null && present.has(r.file)
        ? { seriesId: r.seriesId, file: r.file, rows: r.fileRows, firstMs: r.fileFirst, lastMs: r.fileLast }
        : null;
    const ledger = r.checksum === null ? null : { checksum: r.checksum, rows: r.rows, first: r.first, last: r.last };
    states.set(r.symbol, { seriesId: r.seriesId, ledger, file });
  }
  return states;
}

/** The run's rows alone, when the previous file (if any) holds nothing outside the run's range; else null. */
function ownRows(
  previous: IndicatorFileRow | null,
  one: SymbolSeries,
): { ts: Float64Array; columns: StoredIndicatorColumns } | null {
  const ts = one.bars.ts;
  const covered = !previous || (previous.firstMs >= Math.round(ts[0]) && previous.lastMs <= Math.round(ts[ts.length - 1]));
  return covered ? { ts, columns: storedColumns(one) } : null;
}

function storedColumns(one: SymbolSeries): StoredIndicatorColumns {
  return Object.fromEntries(STORED_INDICATORS.map((k) => [k, one.indicators[k]])) as StoredIndicatorColumns;
}

/** The run's rows, with the previous file's rows before and after its range around them (ts order). */
async function withRowsOutside(
  warehouse: Warehouse,
  previous: IndicatorFileRow,
  one: SymbolSeries,
): Promise<{ ts: Float64Array; columns: StoredIndicatorColumns }> {
  const ts = one.bars.ts;
  const first = ts[0];
  const last = ts[ts.length - 1];
  const own = storedColumns(one);
  const kept = await readIndicatorRowsOutside(warehouse, previous, first, last);
  if (!kept) return { ts, columns: own };
  const before = lowerBound(kept.ts, first);
  const merge = (a: Float64Array, b: Float64Array) => {
    const out = new Float64Array(a.length + b.length);
    out.set(a.subarray(0, before));
    out.set(b, before);
    out.set(a.subarray(before), before + b.length);
    return out;
  };
  return {
    ts: merge(kept.ts, ts),
    columns: Object.fromEntries(STORED_INDICATORS.map((k) => [k, merge(kept.columns[k], own[k])])) as StoredIndicatorColumns,
  };
}

function lowerBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** VALUES rows of `pipeline_indicator_writes` for the written series (one INSERT, named parameters per row). */
function ledgerRows(written: readonly Written[], sel: SeriesSelector) {
  const params: Record<string, DuckDBValue> = selParams(sel);
  const rows = written.map((w, i) => {
    Object.assign(params, {
      [`s${i}`]: w.symbol,
      [`f${i}`]: w.first,
      [`l${i}`]: w.last,
      [`n${i}`]: w.rows,
      [`c${i}`]: w.checksum,
    });
    return `($s${i}, $exchange, $dataType, $barSize, $useRTH, make_timestamp($f${i}::BIGINT * 1000), make_timestamp($l${i}::BIGINT * 1000), $n${i}, $c${i}, now())`;
  });
  return { sql: rows.join(', '), params };
}

/** SQL for the transformed data as a tidy table (symbol, ts, OHLCV, one column per indicator), for the Parquet artifact. */
/**
 * The run's `transformed.parquet`: every bar of the run with every indicator, by symbol then ts, encoded from the
 * arrays the transform task already holds. (Re-reading them through `bars_with_indicators` into DuckDB's COPY took
 * 1.7–2.1 s of a 1M-bar run, the encode and write ~1 s.) Warm-up indicator values (NaN) are NULL, as the view
 * shows them; columns and types are the view's.
 */
export function encodeTransformed(series: readonly Pick<SymbolSeries, 'symbol' | 'bars' | 'indicators'>[]): Uint8Array[] {
  const sorted = [...series].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  const n = sorted.reduce((k, s) => k + s.bars.ts.length, 0);
  const concat = (pick: (s: (typeof sorted)[number]) => Float64Array) => {
    const out = new Float64Array(n);
    let at = 0;
    for (const s of sorted) {
      out.set(pick(s), at);
      at += s.bars.ts.length;
    }
    return out;
  };
  return encodeParquet([
    { name: 'symbol', type: 'utf8_runs', runs: sorted.map((s) => ({ value: s.symbol, count: s.bars.ts.length })) },
    { name: 'ts', type: 'timestamp_us', values: microsFromMs(concat((s) => s.bars.ts)) },
    ...BAR_COLS.slice(1).map((c): ParquetColumn => ({ name: c, type: 'double', values: concat((s) => s.bars[c]) })),
    ...INDICATOR_NAMES.map(
      (k): ParquetColumn => ({ name: k, type: 'double', nullable: true, values: concat((s) => s.indicators[k]) }),
    ),
  ]);
}

function selParams(sel: SeriesSelector) {
  return { exchange: sel.exchange, dataType: sel.dataType, barSize: sel.barSize, useRTH: sel.useRTH };
}

/** DuckDB list literal passed as a VARCHAR parameter and cast in SQL (the node API binds scalars). */
function listLiteral(values: string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}
