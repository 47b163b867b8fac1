/**
 * The journal: one SQLite file in WAL mode for the operational record (webhook inbox, runs,
 * jobs, stats). Held with an exclusive lock so a second Marketdesk cannot write behind our back.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AppError, errorMessage } from '../platform';
import { checkMigrationList, type Migration, newerSchemaError, unknownApplied } from './migrations';

export type JournalDb = Database.Database;
export type JournalMigration = Migration<JournalDb>;

export class Journal {
  readonly db: JournalDb;
  readonly path: string;
  private closed = false;

  private constructor(db: JournalDb, path: string) {
    this.db = db;
    this.path = path;
  }

  /** Opens, checks and locks the file; `migrate` is called separately so both stores are checked first. */
  static open(path: string): Journal {
    assertReadableWritable('Journal', path);
    let db: JournalDb;
    try {
      db = new Database(path, { timeout: 200 });
    } catch (err) {
      throw new AppError('STORE_UNREADABLE', `Journal ${path} cannot be opened: ${errorMessage(err)}`, { status: 503 });
    }
    try {
      db.pragma('schema_version');
    } catch (err) {
      db.close();
      if (isLockError(err)) throw lockedError(path);
      throw new AppError(
        'STORE_CORRUPT',
        `Journal ${path} is not a readable SQLite database (${errorMessage(err)}); it was not modified`,
        {
          status: 503,
        },
      );
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.prepare('BEGIN EXCLUSIVE').run();
      db.prepare('COMMIT').run();
    } catch (err) {
      db.close();
      if (isLockError(err)) throw lockedError(path);
      throw new AppError('STORE_UNREADABLE', `Journal ${path} cannot be locked: ${errorMessage(err)}`, { status: 503 });
    }
    return new Journal(db, path);
  }

  appliedMigrations(): string[] {
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'").get();
    if (!exists) return [];
    return (this.db.prepare('SELECT id FROM schema_migrations ORDER BY applied_at, id').all() as { id: string }[]).map(
      (r) => r.id,
    );
  }

  assertNotNewer(migrations: readonly JournalMigration[]): void {
    const unknown = unknownApplied(this.appliedMigrations(), migrations);
    if (unknown.length > 0) throw newerSchemaError('Journal', this.path, unknown);
  }

  migrate(migrations: readonly JournalMigration[]): string[] {
    checkMigrationList(migrations);
    this.assertNotNewer(migrations);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = new Set(this.appliedMigrations());
    const record = this.db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
    const done: string[] = [];
    for (const m of migrations) {
      if (applied.has(m.id)) continue;
      this.db.transaction(() => {
        if (typeof m.up === 'string') this.db.exec(m.up);
        else void m.up(this.db);
        record.run(m.id, new Date().toISOString());
      })();
      done.push(m.id);
    }
    return done;
  }

  /** A cheap probe for health checks: a write transaction that commits nothing. */
  health(): { ok: boolean; error?: string } {
    if (this.closed) return { ok: false, error: 'closed' };
    try {
      this.db.prepare('BEGIN IMMEDIATE').run();
      this.db.prepare('ROLLBACK').run();
      return { ok: true };
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }
}

function isLockError(err: unknown): boolean {
  return /locked|busy/i.test(errorMessage(err));
}

function lockedError(path: string): AppError {
  return new AppError('STORE_LOCKED', `Journal ${path} is locked by another process (is Marketdesk already running?)`, {
    status: 503,
    details: { path },
  });
}

export function assertReadableWritable(store: string, path: string): void {
  if (!existsSync(path)) return;
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch {
    throw new AppError('STORE_UNREADABLE', `${store} ${path} is not readable and writable by this user; fix its permissions`, {
      status: 503,
    });
  }
}
