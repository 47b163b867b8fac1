/**
 * Where the pipeline's indicators live (marketdata/0006): one Parquet file per series in `<warehouse>.indicators/`,
 * written from typed arrays by `encodeParquet`, listed in `bar_indicator_files`, and read through the
 * `bar_indicators` view (a `read_parquet` over exactly the listed files), which `bars_with_indicators` joins.
 * Why files: persisting 1M rows × 9 columns through DuckDB's appender + commit costs ~0.7 s here, a plain Parquet
 * file ~0.15 s with its fsync, and the indicators are derived data the pipeline can always recompute.
 *
 * Files are immutable and uniquely named. A write makes a new file durable (data + directory fsync) before the
 * transaction that lists it commits; the file it replaces is deleted a few seconds later (`retireIndicatorFiles`),
 * so a reader bound to the previous view keeps its file, and a crash leaves at most unlisted files, which the next
 * write (`removeOrphanFiles`) or open (`sweepIndicatorFiles`) deletes. The view is rewritten in the same transaction
 * as the list.
 */
import { randomBytes } from 'node:crypto';
import { close as closeCb, fdatasync as fdatasyncCb, mkdirSync, openSync } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DuckDBConnection } from '@duckdb/node-api';
import { encodeParquet, microsFromMs, type ParquetColumn, writeParts } from '../storage/parquet';
import { sqlString, type Warehouse } from '../storage/warehouse';
import { readFloat64Columns } from './columns';

/** The indicators stored per bar (the view computes range, range_pct and macd_hist from them and the bar). */
export const STORED_INDICATOR_COLUMNS = ['return', 'log_return', 'sma_20', 'sma_50', 'rsi_14', 'macd', 'macd_signal'] as const;

export type StoredIndicatorColumns = Record<(typeof STORED_INDICATOR_COLUMNS)[number], Float64Array>;

export interface IndicatorFileRow {
  seriesId: number;
  file: string;
  rows: number;
  firstMs: number;
  lastMs: number;
}

const fdatasync = promisify(fdatasyncCb);
const close = promisify(closeCb);

const locks = new Map<string, Promise<unknown>>();

/**
 * Waits for every earlier indicator write (or sweep) of this warehouse and holds the folder until `release`:
 * a sweep must never see a file that another write made but has not listed yet.
 */
export async function lockIndicatorFiles(warehouse: Warehouse): Promise<() => void> {
  const key = warehouse.path;
  const previous = locks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => held);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  await previous;
  return release;
}

/** Replaced files kept a moment for readers still bound to the previous view; then deleted (or by the next sweep). */
const RETIRE_AFTER_MS = 5_000;
const retiring = new Set<string>();

/** Deletes files a commit replaced, after RETIRE_AFTER_MS, off the write's path (unlinking 70 MB costs ~0.1 s here). */
export function retireIndicatorFiles(dir: string, files: readonly string[]): void {
  if (files.length === 0) return;
  for (const f of files) retiring.add(join(dir, f));
  setTimeout(() => {
    void Promise.all(
      files.map(async (f) => {
        await removeFile(join(dir, f));
        retiring.delete(join(dir, f));
      }),
    );
  }, RETIRE_AFTER_MS).unref();
}

/**
 * Before a write: deletes files nothing lists and nothing is retiring (a write that crashed before its commit).
 * Returns the files left in the folder, so the write can tell a listed file that is gone.
 */
export async function removeOrphanFiles(warehouse: Warehouse): Promise<Set<string>> {
  const dir = indicatorDir(warehouse.path);
  const present = new Set(await readdir(dir).catch(() => [] as string[]));
  if (present.size === 0) return present;
  const listed = new Set((await warehouse.read('SELECT file FROM bar_indicator_files')).getRows().map(([f]) => f as string));
  for (const f of present) {
    if (!f.endsWith('.parquet') || listed.has(f) || retiring.has(join(dir, f))) continue;
    if (await removeFile(join(dir, f))) present.delete(f);
  }
  return present;
}

/**
 * Deletes an unlisted file; false when it cannot go now (e.g. Windows refuses while a reader has it open): nothing
 * reads an unlisted file, so it waits for the next sweep instead of failing a write or the start-up.
 */
async function removeFile(path: string): Promise<boolean> {
  try {
    await rm(path, { force: true });
    return true;
  } catch {
    return false;
  }
}

/** The folder beside the warehouse file that holds its indicator files. */
export function indicatorDir(warehousePath: string): string {
  return `${warehousePath}.indicators`;
}

/**
 * Writes one series' indicators as a new file in `dir` (ts in epoch ms, NaN = no value) and makes it durable.
 * Returns its name; nothing lists it until `recordIndicatorFiles` commits. Encoding and opening the file happen
 * before this returns, so the write itself is already under way on libuv's pool while the caller computes on.
 */
export function writeIndicatorFile(
  dir: string,
  seriesId: number,
  ts: Float64Array,
  columns: StoredIndicatorColumns,
): Promise<IndicatorFileRow> {
  const n = ts.length;
  const parts = encodeParquet([
    { name: 'series_id', type: 'int32', values: new Int32Array(n).fill(seriesId) },
    { name: 'ts', type: 'timestamp_us', values: microsFromMs(ts) },
    ...STORED_INDICATOR_COLUMNS.map((name): ParquetColumn => ({ name, type: 'double', values: columns[name] })),
  ]);
  const file = `${seriesId}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}.parquet`;
  const row = { seriesId, file, rows: n, firstMs: n > 0 ? ts[0] : 0, lastMs: n > 0 ? ts[n - 1] : 0 };
  let fd: number;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(join(dir, file), 'wx');
  } catch (err) {
    return Promise.reject(err);
  }
  return (async () => {
    try {
      await writeParts(fd, parts);
      await fdatasync(fd);
    } finally {
      await close(fd);
    }
    return row;
  })();
}

/** Makes the new files' directory entries durable (a no-op where directories cannot be opened, e.g. Windows). */
export async function syncIndicatorDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not supported on this platform: the rename-free, fsynced file is still whole once listed.
  }
}

/** Lists the written files (replacing each series' previous one) and rewrites the view, inside `conn`'s transaction. */
export async function recordIndicatorFiles(
  conn: DuckDBConnection,
  dir: string,
  rows: readonly IndicatorFileRow[],
): Promise<void> {
  if (rows.length > 0) {
    const values = rows.map(
      (r) =>
        `(${r.seriesId}, ${sqlString(r.file)}, ${r.rows}, make_timestamp(${Math.round(r.firstMs)}::BIGINT * 1000), make_timestamp(${Math.round(r.lastMs)}::BIGINT * 1000), now())`,
    );
    await conn.run(`INSERT OR REPLACE INTO bar_indicator_files VALUES ${values.join(', ')}`);
  }
  await rewriteIndicatorView(conn, dir);
}

/** Forgets the indicators of the series matching `seriesWhere` (SQL over bar_indicator_series), inside a transaction. */
export async function dropIndicatorFiles(
  conn: DuckDBConnection,
  dir: string,
  seriesWhere: string,
  params: Record<string, string | number | boolean>,
): Promise<void> {
  await conn.run(
    `DELETE FROM bar_indicator_files WHERE series_id IN (SELECT series_id FROM bar_indicator_series WHERE ${seriesWhere})`,
    params,
  );
  await rewriteIndicatorView(conn, dir);
}

/** `bar_indicators` as a view over exactly the listed files; NaN (warm-up) reads as NULL. */
export async function rewriteIndicatorView(conn: DuckDBConnection, dir: string): Promise<void> {
  const files = (await conn.runAndReadAll('SELECT file FROM bar_indicator_files ORDER BY series_id')).getRows() as [string][];
  const values = STORED_INDICATOR_COLUMNS.map((c) => `nullif("${c}", 'NaN'::DOUBLE) AS "${c}"`).join(', ');
  const source =
    files.length > 0
      ? `SELECT series_id::INTEGER AS series_id, ts::TIMESTAMP AS ts, ${values}
           FROM read_parquet([${files.map(([f]) => sqlString(join(dir, f))).join(', ')}])`
      : `SELECT NULL::INTEGER AS series_id, NULL::TIMESTAMP AS ts, ${STORED_INDICATOR_COLUMNS.map((c) => `NULL::DOUBLE AS "${c}"`).join(', ')}
          WHERE false`;
  await conn.run(`CREATE OR REPLACE VIEW bar_indicators AS ${source}`);
}

/**
 * At open (`Workstation.open`): forgets listed files that are gone (e.g. after a restore of an older backup —
 * the pipeline then writes those series again), deletes files nothing lists (replaced, or left by a crash before
 * their commit) and points the view at this folder, wherever the data folder now is.
 */
export async function sweepIndicatorFiles(warehouse: Warehouse): Promise<{ removed: number; missing: number }> {
  const release = await lockIndicatorFiles(warehouse);
  try {
    return await sweepNow(warehouse);
  } finally {
    release();
  }
}

async function sweepNow(warehouse: Warehouse): Promise<{ removed: number; missing: number }> {
  const dir = indicatorDir(warehouse.path);
  const present = new Set(await readdir(dir).catch(() => [] as string[]));
  return warehouse.transaction(async (conn) => {
    const listed = (await conn.runAndReadAll('SELECT file FROM bar_indicator_files')).getRows().map(([f]) => f as string);
    const missing = listed.filter((f) => !present.has(f));
    if (missing.length > 0) {
      await conn.run(`DELETE FROM bar_indicator_files WHERE file IN (${missing.map(sqlString).join(', ')})`);
    }
    await rewriteIndicatorView(conn, dir);
    const keep = new Set(listed);
    let removed = 0;
    for (const f of present) {
      if (keep.has(f) || !f.endsWith('.parquet')) continue;
      if (await removeFile(join(dir, f))) removed++;
    }
    return { removed, missing: missing.length };
  });
}

/** Reads back a series' file rows outside [firstMs, lastMs] (a partial re-run keeps the rest of the series). */
export async function readIndicatorRowsOutside(
  warehouse: Warehouse,
  row: IndicatorFileRow,
  firstMs: number,
  lastMs: number,
): Promise<{ ts: Float64Array; columns: StoredIndicatorColumns } | null> {
  const cols = await readFloat64Columns(
    warehouse.connection,
    `SELECT (epoch_us(ts) / 1000)::DOUBLE, ${STORED_INDICATOR_COLUMNS.map((c) => `"${c}"`).join(', ')}
       FROM read_parquet(${sqlString(join(indicatorDir(warehouse.path), row.file))})
      WHERE ts < make_timestamp(${Math.round(firstMs)}::BIGINT * 1000) OR ts > make_timestamp(${Math.round(lastMs)}::BIGINT * 1000)
      ORDER BY ts`,
    {},
    ['ts', ...STORED_INDICATOR_COLUMNS] as const,
  );
  if (cols.rowCount === 0) return null;
  const { ts, ...columns } = cols;
  return { ts, columns: columns as unknown as StoredIndicatorColumns };
}
