/**
 * Consistent backups of both stores into `<dataDir>/backups/<id>/`:
 *   - journal: SQLite's online backup API (better-sqlite3 `.backup()`), a consistent copy while
 *     the app keeps writing;
 *   - warehouse: `ATTACH` a fresh DuckDB file and `COPY FROM DATABASE` into it, which reads one
 *     MVCC snapshot (no half-written import can leak in) and needs no file-level lock.
 * A manifest records row counts and SHA-256 of both files; `verify` re-hashes and opens the copies.
 * Restore is offline (CLI, app stopped): it refuses while another process holds the stores, and
 * first backs up the state it replaces.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import { indicatorDir } from '../marketdata';
import { AppError, errorMessage } from '../platform';
import { JOURNAL_FILE, type Stores, sqlString, WAREHOUSE_FILE } from '../storage';

export interface BackupManifest {
  id: string;
  createdAt: string;
  reason: string;
  jobId?: string | null;
  files: { warehouse: { file: string; bytes: number; sha256: string }; journal: { file: string; bytes: number; sha256: string } };
  /** The pipeline's indicator files the warehouse copy lists (marketdata/0006), in `indicators/`; derived data. */
  indicators?: { files: number; bytes: number };
  counts: { warehouse: Record<string, number>; journal: Record<string, number> };
  durationMs: number;
}

export interface BackupInfo extends BackupManifest {
  bytes: number;
}

export interface VerifyResult {
  id: string;
  ok: boolean;
  problems: string[];
}

export function backupsDir(dataDir: string): string {
  return join(dataDir, 'backups');
}

function newBackupId(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `bk_${stamp}_${randomBytes(3).toString('hex')}`;
}

let backupQueue: Promise<unknown> = Promise.resolve();

/** Backs up the open stores; serialised so two backups never run at once. */
export function createBackup(
  stores: Stores,
  dataDir: string,
  options: { reason: string; jobId?: string | null; retention?: number; now?: Date },
): Promise<BackupInfo> {
  const run = backupQueue.then(() => createNow(stores, dataDir, options));
  backupQueue = run.catch(() => undefined);
  return run;
}

async function createNow(
  stores: Stores,
  dataDir: string,
  options: { reason: string; jobId?: string | null; retention?: number; now?: Date },
): Promise<BackupInfo> {
  const started = Date.now();
  const now = options.now ?? new Date();
  const id = newBackupId(now);
  const root = backupsDir(dataDir);
  const partial = join(root, `${id}.partial`);
  const final = join(root, id);
  try {
    await mkdir(partial, { recursive: true });
    const journalCopy = join(partial, JOURNAL_FILE);
    await stores.journal.db.backup(journalCopy);
    const warehouseCopy = join(partial, WAREHOUSE_FILE);
    const alias = `backup_${randomBytes(4).toString('hex')}`;
    const conn = await stores.warehouse.instance.connect();
    let warehouseCounts: Record<string, number>;
    let indicators: BackupManifest['indicators'];
    try {
      const [{ db }] = (await conn.runAndReadAll('SELECT current_database() AS db')).getRowObjectsJS() as { db: string }[];
      await conn.run(`ATTACH ${sqlString(warehouseCopy)} AS ${alias}`);
      try {
        await conn.run(`COPY FROM DATABASE "${db}" TO ${alias}`);
        warehouseCounts = await duckCounts(conn, alias);
        indicators = await copyIndicatorFiles(conn, alias, indicatorDir(stores.warehouse.path), join(partial, INDICATORS));
      } finally {
        await conn.run(`DETACH ${alias}`);
      }
    } finally {
      conn.closeSync();
    }
    const journalCounts = sqliteCounts(journalCopy);
    const manifest: BackupManifest = {
      id,
      createdAt: now.toISOString(),
      reason: options.reason,
      jobId: options.jobId ?? null,
      files: {
        warehouse: { file: WAREHOUSE_FILE, bytes: (await stat(warehouseCopy)).size, sha256: await sha256File(warehouseCopy) },
        journal: { file: JOURNAL_FILE, bytes: (await stat(journalCopy)).size, sha256: await sha256File(journalCopy) },
      },
      counts: { warehouse: warehouseCounts, journal: journalCounts },
      indicators,
      durationMs: Date.now() - started,
    };
    await writeFile(join(partial, 'manifest.json'), JSON.stringify(manifest, null, 2));
    await rename(partial, final);
    if (options.retention && options.retention > 0) await pruneBackups(dataDir, options.retention, unmergedJobs(stores));
    return { ...manifest, bytes: manifest.files.warehouse.bytes + manifest.files.journal.bytes };
  } catch (err) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    throw new AppError('BACKUP_FAILED', `The backup could not be written to ${root}: ${errorMessage(err)}`, {
      status: code === 'ENOSPC' ? 507 : 500,
      cause: err,
    });
  }
}

type DuckConn = Awaited<ReturnType<DuckDBInstance['connect']>>;

const INDICATORS = 'indicators';

/**
 * The indicator files the copied warehouse lists, hard-linked into the backup (they are immutable; a copy where
 * links are refused). A file replaced and deleted since the copy's snapshot is skipped: the restored warehouse
 * forgets it at open and the next pipeline run writes that series again.
 */
async function copyIndicatorFiles(conn: DuckConn, catalog: string, from: string, to: string) {
  const listed = (await conn.runAndReadAll(`SELECT file FROM ${catalog}.main.bar_indicator_files`)).getRows() as [string][];
  if (listed.length === 0) return undefined;
  await mkdir(to, { recursive: true });
  let files = 0;
  let bytes = 0;
  for (const [file] of listed) {
    if (await linkOrCopy(join(from, file), join(to, file))) {
      files++;
      bytes += (await stat(join(to, file))).size;
    }
  }
  return { files, bytes };
}

/** false when `src` is gone. */
async function linkOrCopy(src: string, dest: string): Promise<boolean> {
  try {
    await link(src, dest);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    await copyFile(src, dest);
    return true;
  }
}

async function duckCounts(conn: DuckConn, catalog: string): Promise<Record<string, number>> {
  const tables = (
    await conn.runAndReadAll(
      `SELECT table_name FROM information_schema.tables WHERE table_catalog = '${catalog}' AND table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    )
  ).getRowObjectsJS() as { table_name: string }[];
  const counts: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [{ n }] = (await conn.runAndReadAll(`SELECT count(*) AS n FROM ${catalog}.main."${table_name}"`)).getRowObjectsJS() as {
      n: bigint;
    }[];
    counts[table_name] = Number(n);
  }
  return counts;
}

function sqliteCounts(path: string): Record<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const ok = db.pragma('quick_check', { simple: true });
    if (ok !== 'ok') throw new Error(`journal copy fails quick_check: ${String(ok)}`);
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as { name: string }[];
    const counts: Record<string, number> = {};
    for (const { name } of tables) counts[name] = (db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n;
    return counts;
  } finally {
    db.close();
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function listBackups(dataDir: string): Promise<BackupInfo[]> {
  const root = backupsDir(dataDir);
  if (!existsSync(root)) return [];
  const out: BackupInfo[] = [];
  for (const name of await readdir(root)) {
    if (!name.startsWith('bk_') || name.endsWith('.partial')) continue;
    try {
      const manifest = JSON.parse(await readFile(join(root, name, 'manifest.json'), 'utf8')) as BackupManifest;
      out.push({ ...manifest, bytes: manifest.files.warehouse.bytes + manifest.files.journal.bytes });
    } catch {
      // A folder without a readable manifest is not a usable backup; verify reports it by id.
    }
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
}

/**
 * Keeps the `retention` newest backups. Over the limit, the backups taken before imports that ended without
 * changing the clean tables (`unmerged`: failed or cancelled before the merge, or the same content again) go
 * first: they hold the same data as the one after them, and eleven bad URLs from a bridge used to evict every
 * backup worth keeping. The newest backup is never removed.
 */
export async function pruneBackups(
  dataDir: string,
  retention: number,
  unmerged: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const all = await listBackups(dataDir); // newest first
  const older = all.slice(1).reverse(); // oldest first
  const order = [
    ...older.filter((b) => b.jobId && unmerged.has(b.jobId)),
    ...older.filter((b) => !(b.jobId && unmerged.has(b.jobId))),
  ];
  const removed: string[] = [];
  for (const b of order) {
    if (all.length - removed.length <= retention) break;
    await rm(join(backupsDir(dataDir), b.id), { recursive: true, force: true });
    removed.push(b.id);
  }
  return removed;
}

/** Import jobs that finished without touching the clean tables. */
function unmergedJobs(stores: Stores): Set<string> {
  try {
    const rows = stores.journal.db
      .prepare(
        `SELECT id FROM import_jobs
          WHERE (state IN ('failed', 'cancelled') AND step NOT IN ('merged', 'exported')) OR duplicate_of IS NOT NULL`,
      )
      .pluck()
      .all() as string[];
    return new Set(rows);
  } catch {
    return new Set(); // no import_jobs table yet
  }
}

function checkId(id: string): void {
  if (!/^bk_[0-9A-Za-z_]+$/.test(id))
    throw new AppError('BACKUP_NOT_FOUND', `"${id}" is not a backup id (they look like bk_20260105T143000Z_ab12cd)`);
}

export async function readManifest(dataDir: string, id: string): Promise<BackupManifest> {
  checkId(id);
  try {
    return JSON.parse(await readFile(join(backupsDir(dataDir), id, 'manifest.json'), 'utf8')) as BackupManifest;
  } catch {
    throw new AppError('BACKUP_NOT_FOUND', `No backup ${id} in ${backupsDir(dataDir)} (see "marketdesk backup list")`, {
      status: 404,
    });
  }
}

/** Re-hashes both files and opens them read-only, comparing row counts with the manifest. */
export async function verifyBackup(dataDir: string, id: string): Promise<VerifyResult> {
  const manifest = await readManifest(dataDir, id);
  const dir = join(backupsDir(dataDir), id);
  const problems: string[] = [];
  for (const which of ['warehouse', 'journal'] as const) {
    const f = manifest.files[which];
    const path = join(dir, f.file);
    if (!existsSync(path)) {
      problems.push(`${which} copy ${f.file} is missing`);
      continue;
    }
    const sum = await sha256File(path);
    if (sum !== f.sha256) problems.push(`${which} copy ${f.file} does not match its checksum (changed or corrupt)`);
  }
  if (problems.length === 0) {
    try {
      const counts = sqliteCounts(join(dir, manifest.files.journal.file));
      for (const [t, n] of Object.entries(manifest.counts.journal)) {
        if (counts[t] !== n) problems.push(`journal table ${t}: ${counts[t] ?? 'missing'} rows, manifest says ${n}`);
      }
    } catch (err) {
      problems.push(`journal copy cannot be opened: ${errorMessage(err)}`);
    }
    try {
      const instance = await DuckDBInstance.create(join(dir, manifest.files.warehouse.file), { access_mode: 'READ_ONLY' });
      const conn = await instance.connect();
      try {
        const [{ db }] = (await conn.runAndReadAll('SELECT current_database() AS db')).getRowObjectsJS() as { db: string }[];
        const counts = await duckCounts(conn, db);
        for (const [t, n] of Object.entries(manifest.counts.warehouse)) {
          if (counts[t] !== n) problems.push(`warehouse table ${t}: ${counts[t] ?? 'missing'} rows, manifest says ${n}`);
        }
      } finally {
        conn.closeSync();
        instance.closeSync();
      }
    } catch (err) {
      problems.push(`warehouse copy cannot be opened: ${errorMessage(err)}`);
    }
  }
  return { id, ok: problems.length === 0, problems };
}

/**
 * Replaces the stores in `dataDir` with backup `id`. The caller must not hold the stores open:
 * `openForRestore` proves no other process does (both stores lock their files) and makes the
 * safety backup of the current state before anything is replaced.
 */
export async function restoreBackup(
  dataDir: string,
  id: string,
  openCurrent: () => Promise<Stores>,
  options: { retention?: number } = {},
): Promise<{ restored: string; safetyBackup: string }> {
  const check = await verifyBackup(dataDir, id);
  if (!check.ok) throw new AppError('BACKUP_INVALID', `Backup ${id} fails verification: ${check.problems.join('; ')}`);
  let current: Stores;
  try {
    current = await openCurrent();
  } catch (err) {
    if (err instanceof AppError && err.code === 'STORE_LOCKED') {
      throw new AppError(
        'RESTORE_REFUSED',
        'Marketdesk is running and writing to this data folder; stop it (quit the app or the serve process) and run the restore again',
        { status: 409 },
      );
    }
    throw err;
  }
  let safety: BackupInfo;
  try {
    // Pruned only once the restore is done: pruning here could delete the (older) backup being restored.
    safety = await createBackup(current, dataDir, { reason: `before restore of ${id}` });
  } finally {
    await current.close();
  }
  const dir = join(backupsDir(dataDir), id);
  const manifest = await readManifest(dataDir, id);
  for (const [file, src] of [
    [WAREHOUSE_FILE, manifest.files.warehouse.file],
    [JOURNAL_FILE, manifest.files.journal.file],
  ] as const) {
    const target = join(dataDir, file);
    await copyFile(join(dir, src), `${target}.restoring`);
    for (const side of ['-wal', '-shm', '.wal']) await rm(`${target}${side}`, { force: true });
    await rename(`${target}.restoring`, target);
  }
  // The restored warehouse lists its own indicator files: put them back beside it (the open sweeps the others).
  if (existsSync(join(dir, INDICATORS))) {
    const into = indicatorDir(join(dataDir, WAREHOUSE_FILE));
    await mkdir(into, { recursive: true });
    for (const file of await readdir(join(dir, INDICATORS))) {
      if (!existsSync(join(into, file))) await linkOrCopy(join(dir, INDICATORS, file), join(into, file));
    }
  }
  settleRestoredJobs(join(dataDir, JOURNAL_FILE), id);
  // One more than the retention count, so the safety copy of the replaced state is never pruned at once.
  if (options.retention && options.retention > 0) await pruneBackups(dataDir, options.retention + 1);
  return { restored: id, safetyBackup: safety.id };
}

/**
 * A backup taken before (or during) an import holds that job as still in progress; left so, the next start
 * would resume it and bring back exactly what the restore was meant to undo. Such jobs end as cancelled.
 */
function settleRestoredJobs(journalPath: string, backupId: string): void {
  const db = new Database(journalPath);
  try {
    const hasJobs = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'import_jobs'").get();
    if (!hasJobs) return;
    const now = new Date().toISOString();
    db.prepare(
      `UPDATE import_jobs SET state = 'cancelled', error = ?, error_code = 'RESTORED', updated_at = ?, finished_at = ?
        WHERE state NOT IN ('done', 'failed', 'cancelled')`,
    ).run(`cancelled by the restore of backup ${backupId}, taken before this import finished`, now, now);
  } finally {
    db.close();
  }
}
