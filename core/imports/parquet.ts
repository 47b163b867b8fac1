/**
 * Parquet export of warehouse tables into a hive layout, `<dataDir>/parquet/<table>/ticker=X/date=Y/`,
 * that DuckDB, Spark and Trino read as is. An export always rewrites whole (ticker, date)
 * partitions: the requested range is widened to whole UTC days and each affected partition folder
 * is replaced, so re-exporting never leaves stale or duplicated files behind.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../platform';
import { sqlString, type Warehouse } from '../storage';

export interface ExportRequest {
  table: string;
  /** ISO timestamps; widened to whole UTC days. */
  from?: string | null;
  to?: string | null;
  tickers?: string[] | null;
}

export interface ExportResult {
  table: string;
  dir: string;
  rows: number;
  partitions: number;
  files: number;
  partitionBy: string[];
  durationMs: number;
}

const KEY_COLUMNS = ['ticker', 'symbol'];
const TIME_COLUMNS = ['ts', 'time', 'timestamp', 'executed_at', 'received_at', 'created_at'];
const TABLE_NAME = /^[a-z_][a-z0-9_]*$/;

let exportQueue: Promise<unknown> = Promise.resolve();

/** The warehouse tables a user may export: not the importer's staging tables, not the migration ledger. */
export async function exportableTables(warehouse: Warehouse): Promise<string[]> {
  const rows = await warehouse.rows<{ t: string }>(
    "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'import\\_%' ESCAPE '\\' AND table_name <> 'schema_migrations' ORDER BY 1",
  );
  return rows.map((r) => r.t);
}

export async function exportTableToParquet(warehouse: Warehouse, dataDir: string, req: ExportRequest): Promise<ExportResult> {
  const run = exportQueue.then(() => exportNow(warehouse, dataDir, req));
  exportQueue = run.catch(() => undefined);
  return run;
}

async function exportNow(warehouse: Warehouse, dataDir: string, req: ExportRequest): Promise<ExportResult> {
  const started = Date.now();
  if (!TABLE_NAME.test(req.table)) throw new AppError('EXPORT_BAD_TABLE', `"${req.table}" is not a table name`);
  const cols = await warehouse.rows<{ column_name: string; data_type: string }>(
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $1 ORDER BY ordinal_position",
    [req.table],
  );
  const exportable = await exportableTables(warehouse);
  if (cols.length === 0 || !exportable.includes(req.table))
    throw new AppError(
      'EXPORT_BAD_TABLE',
      `The warehouse has no exportable table "${req.table}" (exportable: ${exportable.join(', ')})`,
      {
        status: 404,
      },
    );
  const names = cols.map((c) => c.column_name);
  const key = KEY_COLUMNS.find((c) => names.includes(c)) ?? null;
  const time =
    TIME_COLUMNS.find(
      (c) => names.includes(c) && /TIMESTAMP|DATE/i.test(cols.find((x) => x.column_name === c)?.data_type ?? ''),
    ) ?? null;
  const dir = join(dataDir, 'parquet', req.table);
  await mkdir(dir, { recursive: true });

  const where: string[] = [];
  if (time && req.from) where.push(`"${time}" >= date_trunc('day', ${sqlString(req.from)}::TIMESTAMP)`);
  if (time && req.to) where.push(`"${time}" < date_trunc('day', ${sqlString(req.to)}::TIMESTAMP) + INTERVAL 1 DAY`);
  if (key && req.tickers && req.tickers.length > 0) where.push(`"${key}" IN (${req.tickers.map(sqlString).join(', ')})`);
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';

  if (!time) {
    // Nothing to partition by: one file per table, replaced whole.
    const file = join(dir, 'data.parquet');
    const [{ n }] = await warehouse.rows<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM "${req.table}" ${filter}`);
    await warehouse.run(`COPY (SELECT * FROM "${req.table}" ${filter}) TO ${sqlString(file)} (FORMAT parquet)`);
    return { table: req.table, dir, rows: n, partitions: 1, files: 1, partitionBy: [], durationMs: Date.now() - started };
  }

  const partitionBy = key ? [key, 'date'] : ['date'];
  const parts = await warehouse.rows<{ k: string | null; d: string; n: number }>(
    `SELECT ${key ? `"${key}"` : 'NULL'} AS k, CAST("${time}" AS DATE)::VARCHAR AS d, count(*)::BIGINT AS n
     FROM "${req.table}" ${filter} GROUP BY ALL ORDER BY ALL`,
  );
  // Replace whole partitions: drop the folders this export rewrites first.
  for (const p of parts) {
    const sub = key ? join(dir, `${key}=${p.k}`, `date=${p.d}`) : join(dir, `date=${p.d}`);
    await rm(sub, { recursive: true, force: true });
  }
  const rows = parts.reduce((s, p) => s + p.n, 0);
  if (rows > 0) {
    await warehouse.run(
      `COPY (SELECT *, CAST("${time}" AS DATE) AS date FROM "${req.table}" ${filter})
       TO ${sqlString(dir)} (FORMAT parquet, PARTITION_BY (${partitionBy.join(', ')}), OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'part_{uuid}')`,
    );
  }
  let files = 0;
  for (const p of parts) {
    const sub = key ? join(dir, `${key}=${p.k}`, `date=${p.d}`) : join(dir, `date=${p.d}`);
    files += (await readdir(sub).catch(() => [])).length;
  }
  return { table: req.table, dir, rows, partitions: parts.length, files, partitionBy, durationMs: Date.now() - started };
}
