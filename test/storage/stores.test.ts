import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppError } from '../../core/platform';
import { JOURNAL_FILE, type JournalMigration, openStores, WAREHOUSE_FILE, type WarehouseMigration } from '../../core/storage';
import { removeDir, tempDir } from '../support/temp';

const journalV1: JournalMigration[] = [{ id: 'test/0001_notes', up: 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)' }];
const warehouseV1: WarehouseMigration[] = [{ id: 'test/0001_prices', up: 'CREATE TABLE prices (ts TIMESTAMP, px DOUBLE)' }];
const journalV2: JournalMigration[] = [...journalV1, { id: 'test/0002_tags', up: 'ALTER TABLE notes ADD COLUMN tag TEXT' }];

const dirs: string[] = [];
const children: ChildProcess[] = [];
function freshDir(): string {
  const d = tempDir('marketdesk-stores-');
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) removeDir(d);
});

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function openError(dir: string, journal = journalV1, warehouse = warehouseV1): Promise<AppError> {
  try {
    const stores = await openStores(dir, { journal, warehouse });
    await stores.close();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected the stores to be refused');
}

describe('stores', () => {
  it('applies numbered migrations once, records them, and adds new ones on an old file', async () => {
    const dir = freshDir();
    let stores = await openStores(dir, { journal: journalV1, warehouse: warehouseV1 });
    expect(stores.journal.appliedMigrations()).toEqual(['test/0001_notes']);
    expect(await stores.warehouse.appliedMigrations()).toEqual(['test/0001_prices']);
    stores.journal.db.prepare('INSERT INTO notes (body) VALUES (?)').run('kept');
    await stores.warehouse.run("INSERT INTO prices VALUES ('2026-01-05 14:30:00', 101.5)");
    await stores.close();

    stores = await openStores(dir, { journal: journalV2, warehouse: warehouseV1 });
    expect(stores.journal.appliedMigrations()).toEqual(['test/0001_notes', 'test/0002_tags']);
    expect(stores.journal.db.prepare('SELECT body, tag FROM notes').all()).toEqual([{ body: 'kept', tag: null }]);
    expect(await stores.warehouse.rows('SELECT px FROM prices')).toEqual([{ px: 101.5 }]);
    expect(stores.journal.db.pragma('journal_mode', { simple: true })).toBe('wal');
    await stores.close();
  });

  it('refuses a journal written by a newer Marketdesk and leaves it untouched', async () => {
    const dir = freshDir();
    const stores = await openStores(dir, { journal: journalV2, warehouse: warehouseV1 });
    await stores.close();
    const before = sha(join(dir, JOURNAL_FILE));
    const err = await openError(dir, journalV1);
    expect(err.code).toBe('STORE_NEWER_SCHEMA');
    expect(err.message).toContain('test/0002_tags');
    expect(sha(join(dir, JOURNAL_FILE))).toBe(before);
  });

  it('refuses a warehouse from a newer schema without migrating the journal', async () => {
    const dir = freshDir();
    const newer: WarehouseMigration[] = [...warehouseV1, { id: 'test/0002_more', up: 'CREATE TABLE more (x INT)' }];
    await (await openStores(dir, { journal: journalV1, warehouse: newer })).close();
    const err = await openError(dir, journalV2, warehouseV1);
    expect(err.code).toBe('STORE_NEWER_SCHEMA');
    const db = new Database(join(dir, JOURNAL_FILE), { readonly: true });
    expect(db.prepare('SELECT id FROM schema_migrations').all()).toEqual([{ id: 'test/0001_notes' }]);
    db.close();
  });

  it('refuses a corrupt journal file with a clear error and does not modify it', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, JOURNAL_FILE), Buffer.alloc(8192, 0x5a));
    const before = sha(join(dir, JOURNAL_FILE));
    const err = await openError(dir);
    expect(err.code).toBe('STORE_CORRUPT');
    expect(err.message).toMatch(/journal\.sqlite is not a readable SQLite database/);
    expect(sha(join(dir, JOURNAL_FILE))).toBe(before);
  });

  it('refuses a corrupt warehouse file with a clear error and does not modify it', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, WAREHOUSE_FILE), Buffer.from('this is not a duckdb file'.repeat(500)));
    const before = sha(join(dir, WAREHOUSE_FILE));
    const err = await openError(dir);
    expect(err.code).toBe('STORE_CORRUPT');
    expect(err.message).toMatch(/market\.duckdb is not a readable DuckDB database/);
    expect(sha(join(dir, WAREHOUSE_FILE))).toBe(before);
    expect(existsSync(join(dir, `${WAREHOUSE_FILE}.wal`))).toBe(false);
  });

  it('refuses stores held by another running Marketdesk', async () => {
    const dir = freshDir();
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/storage/fixtures/hold-stores.ts', dir], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    const err = await openError(dir);
    expect(err.code).toBe('STORE_LOCKED');
    expect(err.message).toMatch(/locked by another process/);
    child.stdin?.end();
    await new Promise((resolve) => child.once('exit', resolve));
    const stores = await openStores(dir, { journal: journalV1, warehouse: warehouseV1 });
    await stores.close();
  });

  it('refuses a store path that cannot be read as a file', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, JOURNAL_FILE), { recursive: true });
    const err = await openError(dir);
    expect(err.code).toMatch(/^STORE_/);
    expect(err.message).toContain(JOURNAL_FILE);
  });

  it('closes cleanly: checkpointed, no leftover WAL to replay', async () => {
    const dir = freshDir();
    const stores = await openStores(dir, { journal: journalV1, warehouse: warehouseV1 });
    const insert = stores.journal.db.prepare('INSERT INTO notes (body) VALUES (?)');
    for (let i = 0; i < 200; i++) insert.run(`note ${i}`);
    await stores.warehouse.run('INSERT INTO prices SELECT now(), range FROM range(1000)');
    await stores.close();
    const wal = join(dir, `${JOURNAL_FILE}-wal`);
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
    expect(existsSync(join(dir, `${WAREHOUSE_FILE}.wal`))).toBe(false);
    const again = await openStores(dir, { journal: journalV1, warehouse: warehouseV1 });
    expect(again.journal.db.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 200 });
    expect(await again.warehouse.rows('SELECT count(*) AS n FROM prices')).toEqual([{ n: 1000 }]);
    await again.close();
  });

  it('rolls back a failed warehouse transaction completely', async () => {
    const dir = freshDir();
    const stores = await openStores(dir, { journal: journalV1, warehouse: warehouseV1 });
    await expect(
      stores.warehouse.transaction(async (conn) => {
        await conn.run("INSERT INTO prices VALUES ('2026-01-05', 1)");
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await stores.warehouse.rows('SELECT count(*) AS n FROM prices')).toEqual([{ n: 0 }]);
    await stores.close();
  });
});
