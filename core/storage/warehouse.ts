/**
 * The warehouse: one DuckDB file for market data (bars, GEX, option trades, alerts).
 * Large reads go column by column into typed arrays; never build per-row objects for them.
 */
import { type DuckDBConnection, DuckDBInstance, type DuckDBResultReader, type DuckDBValue } from '@duckdb/node-api';
import { AppError, errorMessage } from '../platform';
import { assertReadableWritable } from './journal';
import { checkMigrationList, type Migration, newerSchemaError, unknownApplied } from './migrations';

export type WarehouseMigration = Migration<DuckDBConnection>;

/** A value as a SQL string literal, for the places DuckDB takes no parameter (file paths in COPY/ATTACH/read_*). */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
export type SqlParams = DuckDBValue[] | Record<string, DuckDBValue>;

export class Warehouse {
  readonly instance: DuckDBInstance;
  /** The default connection; use `transaction` for multi-statement writes. */
  readonly connection: DuckDBConnection;
  readonly path: string;
  private closed = false;
  private writeQueue: Promise<unknown> = Promise.resolve();

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection, path: string) {
    this.instance = instance;
    this.connection = connection;
    this.path = path;
  }

  static async open(path: string): Promise<Warehouse> {
    assertReadableWritable('Warehouse', path);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path);
    } catch (err) {
      throw classifyOpenError(path, err);
    }
    const connection = await instance.connect();
    return new Warehouse(instance, connection, path);
  }

  async appliedMigrations(): Promise<string[]> {
    const exists = await this.rows<{ n: number }>(
      "SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = 'schema_migrations'",
    );
    if (!exists[0]?.n) return [];
    return (await this.rows<{ id: string }>('SELECT id FROM schema_migrations ORDER BY applied_at, id')).map((r) => r.id);
  }

  async assertNotNewer(migrations: readonly WarehouseMigration[]): Promise<void> {
    const unknown = unknownApplied(await this.appliedMigrations(), migrations);
    if (unknown.length > 0) throw newerSchemaError('Warehouse', this.path, unknown);
  }

  async migrate(migrations: readonly WarehouseMigration[]): Promise<string[]> {
    checkMigrationList(migrations);
    await this.assertNotNewer(migrations);
    await this.connection.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)',
    );
    const applied = new Set(await this.appliedMigrations());
    const done: string[] = [];
    for (const m of migrations) {
      if (applied.has(m.id)) continue;
      await this.transaction(async (conn) => {
        if (typeof m.up === 'string') await conn.run(m.up);
        else await m.up(conn);
        await conn.run('INSERT INTO schema_migrations VALUES ($id, now())', { id: m.id });
      });
      done.push(m.id);
    }
    return done;
  }

  async run(sql: string, params?: SqlParams): Promise<void> {
    await this.connection.run(sql, params);
  }

  /** Small results as plain objects (BIGINTs become numbers). Not for bulk data. */
  async rows<T = Record<string, unknown>>(
    sql: string,
    params?: SqlParams,
    conn: DuckDBConnection = this.connection,
  ): Promise<T[]> {
    const reader = await conn.runAndReadAll(sql, params);
    return reader.getRowObjectsJS().map((row) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) out[k] = typeof v === 'bigint' ? Number(v) : v;
      return out as T;
    });
  }

  /** Reads a result fully for column-wise access (`reader.getColumns()` / typed-array copies). */
  async read(sql: string, params?: SqlParams, conn: DuckDBConnection = this.connection): Promise<DuckDBResultReader> {
    return conn.runAndReadAll(sql, params);
  }

  /**
   * Runs `fn` in one transaction on its own connection; writes are serialised so two writers
   * never race on the same rows. Any throw rolls everything back.
   */
  async transaction<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const next = this.writeQueue.then(async () => {
      const conn = await this.instance.connect();
      try {
        await conn.run('BEGIN TRANSACTION');
        try {
          const result = await fn(conn);
          await conn.run('COMMIT');
          return result;
        } catch (err) {
          await conn.run('ROLLBACK').catch(() => undefined);
          throw err;
        }
      } finally {
        conn.closeSync();
      }
    });
    this.writeQueue = next.catch(() => undefined);
    return next;
  }

  async health(): Promise<{ ok: boolean; error?: string }> {
    if (this.closed) return { ok: false, error: 'closed' };
    try {
      await this.connection.run('SELECT 1');
      return { ok: true };
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  async checkpoint(): Promise<void> {
    await this.writeQueue;
    await this.connection.run('CHECKPOINT');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeQueue;
    try {
      await this.connection.run('CHECKPOINT');
    } finally {
      this.connection.closeSync();
      this.instance.closeSync();
    }
  }
}

function classifyOpenError(path: string, err: unknown): AppError {
  const msg = errorMessage(err);
  if (/lock/i.test(msg)) {
    return new AppError(
      'STORE_LOCKED',
      `Warehouse ${path} is locked by another process (is Marketdesk already running?): ${msg}`,
      { status: 503, details: { path } },
    );
  }
  if (/newer|version/i.test(msg) && !/not a valid/i.test(msg)) {
    return new AppError('STORE_NEWER_SCHEMA', `Warehouse ${path} was written by a newer DuckDB/Marketdesk: ${msg}`, {
      status: 503,
    });
  }
  return new AppError('STORE_CORRUPT', `Warehouse ${path} is not a readable DuckDB database (${msg}); it was not modified`, {
    status: 503,
  });
}
