/**
 * The import journal: one row per history import job in the journal (SQLite), holding its state,
 * progress, attempts, error and the resume marker (the last step that completed durably).
 * Idempotency lives here too: an active job per URL (unique index) and finished jobs per content hash.
 */
import { randomBytes } from 'node:crypto';
import { importJobStateSchema } from '../api/imports';
import type { JournalDb, JournalMigration } from '../storage';

/** The job states, as the contract declares them. */
export const JOB_STATES = importJobStateSchema.options;
export type JobState = (typeof JOB_STATES)[number];
export const FINAL_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

/** Resume markers, in order: a resumed job skips every step up to and including its marker. */
export const STEPS = ['none', 'backed_up', 'downloaded', 'validated', 'merged', 'exported'] as const;
export type Step = (typeof STEPS)[number];

export function stepReached(marker: Step, step: Step): boolean {
  return STEPS.indexOf(marker) >= STEPS.indexOf(step);
}

export interface InvalidExample {
  /** The record's position in the file, counted across every entry of a zip. */
  index: number;
  message: string;
  excerpt: string;
  /** The zip entry holding the record. */
  entry?: string;
}

export interface JobReport {
  layout?: string;
  encoding?: string;
  /** The zip entries read, in order. */
  entries?: string[];
  invalidExamples?: InvalidExample[];
  nonRecords?: number;
  duplicatesInFile?: number;
  durationsMs?: Record<string, number>;
  exportPaths?: string[];
  integrityReportId?: string | null;
  tickers?: string[];
  firstTs?: string | null;
  lastTs?: string | null;
  notes?: string[];
}

export interface ImportJob {
  id: string;
  kind: 'gex';
  origin: string;
  url: string | null;
  path: string | null;
  category: string;
  state: JobState;
  step: Step;
  attempts: number;
  bytesDone: number;
  bytesTotal: number | null;
  recordsDone: number;
  recordsValid: number;
  recordsInvalid: number;
  snapshotsInserted: number;
  strikesInserted: number;
  strikesDuplicate: number;
  contentHash: string | null;
  stagedPath: string | null;
  backupId: string | null;
  duplicateOf: string | null;
  error: string | null;
  errorCode: string | null;
  report: JobReport;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export const importJournalMigrations: JournalMigration[] = [
  {
    id: 'imports/0001_import_jobs',
    up: `
      CREATE TABLE import_jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL DEFAULT 'gex',
        origin TEXT NOT NULL,
        url TEXT,
        path TEXT,
        category TEXT NOT NULL DEFAULT 'full',
        state TEXT NOT NULL,
        step TEXT NOT NULL DEFAULT 'none',
        attempts INTEGER NOT NULL DEFAULT 0,
        bytes_done INTEGER NOT NULL DEFAULT 0,
        bytes_total INTEGER,
        records_done INTEGER NOT NULL DEFAULT 0,
        records_valid INTEGER NOT NULL DEFAULT 0,
        records_invalid INTEGER NOT NULL DEFAULT 0,
        snapshots_inserted INTEGER NOT NULL DEFAULT 0,
        strikes_inserted INTEGER NOT NULL DEFAULT 0,
        strikes_duplicate INTEGER NOT NULL DEFAULT 0,
        content_hash TEXT,
        staged_path TEXT,
        backup_id TEXT,
        duplicate_of TEXT,
        error TEXT,
        error_code TEXT,
        report TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
      );
      CREATE UNIQUE INDEX import_jobs_active_url ON import_jobs(url)
        WHERE url IS NOT NULL AND state NOT IN ('failed', 'cancelled');
      CREATE INDEX import_jobs_hash ON import_jobs(content_hash);
      CREATE INDEX import_jobs_state ON import_jobs(state, created_at);
    `,
  },
];

type Row = Record<string, unknown>;

const COLUMN_OF: Record<string, string> = {
  state: 'state',
  step: 'step',
  attempts: 'attempts',
  bytesDone: 'bytes_done',
  bytesTotal: 'bytes_total',
  recordsDone: 'records_done',
  recordsValid: 'records_valid',
  recordsInvalid: 'records_invalid',
  snapshotsInserted: 'snapshots_inserted',
  strikesInserted: 'strikes_inserted',
  strikesDuplicate: 'strikes_duplicate',
  contentHash: 'content_hash',
  stagedPath: 'staged_path',
  backupId: 'backup_id',
  duplicateOf: 'duplicate_of',
  error: 'error',
  errorCode: 'error_code',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};

export type JobPatch = Partial<
  Omit<ImportJob, 'id' | 'kind' | 'origin' | 'url' | 'path' | 'category' | 'createdAt' | 'report'>
> & {
  report?: JobReport;
};

export function newJobId(now = Date.now()): string {
  return `imp_${now.toString(36)}${randomBytes(4).toString('hex')}`;
}

export class ImportJobStore {
  constructor(private readonly db: JournalDb) {}

  get(id: string): ImportJob | null {
    const row = this.db.prepare('SELECT * FROM import_jobs WHERE id = ?').get(id) as Row | undefined;
    return row ? toJob(row) : null;
  }

  list(limit = 100): ImportJob[] {
    return (this.db.prepare('SELECT * FROM import_jobs ORDER BY created_at DESC, id DESC LIMIT ?').all(limit) as Row[]).map(
      toJob,
    );
  }

  /** Jobs that were running when the process stopped, oldest first. */
  unfinished(): ImportJob[] {
    return (
      this.db
        .prepare("SELECT * FROM import_jobs WHERE state NOT IN ('done','failed','cancelled') ORDER BY created_at, id")
        .all() as Row[]
    ).map(toJob);
  }

  nextQueued(): ImportJob | null {
    const row = this.db.prepare("SELECT * FROM import_jobs WHERE state = 'queued' ORDER BY created_at, id LIMIT 1").get() as
      | Row
      | undefined;
    return row ? toJob(row) : null;
  }

  activeByUrl(url: string): ImportJob | null {
    const row = this.db
      .prepare("SELECT * FROM import_jobs WHERE url = ? AND state NOT IN ('failed','cancelled') ORDER BY created_at LIMIT 1")
      .get(url) as Row | undefined;
    return row ? toJob(row) : null;
  }

  /** Another job that imported (or is importing) the same bytes. */
  sameContent(hash: string, exceptId: string): ImportJob | null {
    const row = this.db
      .prepare(
        `SELECT * FROM import_jobs WHERE content_hash = ? AND id <> ? AND duplicate_of IS NULL
           AND (state = 'done' OR step IN ('validated','merged','exported'))
         ORDER BY created_at LIMIT 1`,
      )
      .get(hash, exceptId) as Row | undefined;
    return row ? toJob(row) : null;
  }

  /** Inserts a queued job; with a URL already active, returns that job instead (idempotent). */
  create(
    input: { origin: string; url?: string | null; path?: string | null; category: string },
    now: Date,
  ): {
    job: ImportJob;
    created: boolean;
  } {
    return this.db.transaction(() => {
      if (input.url) {
        const existing = this.activeByUrl(input.url);
        if (existing) return { job: existing, created: false };
      }
      const id = newJobId(now.getTime());
      const ts = now.toISOString();
      this.db
        .prepare(
          `INSERT INTO import_jobs (id, origin, url, path, category, state, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)`,
        )
        .run(id, input.origin, input.url ?? null, input.path ?? null, input.category, ts, ts);
      return { job: this.get(id) as ImportJob, created: true };
    })();
  }

  update(id: string, patch: JobPatch, now: Date): ImportJob {
    const sets: string[] = ['updated_at = @updated_at'];
    const params: Record<string, unknown> = { id, updated_at: now.toISOString() };
    for (const [key, value] of Object.entries(patch)) {
      if (key === 'report') {
        sets.push('report = @report');
        params.report = JSON.stringify(value ?? {});
        continue;
      }
      const col = COLUMN_OF[key];
      if (!col) throw new Error(`unknown job field ${key}`);
      sets.push(`${col} = @${col}`);
      params[col] = value ?? null;
    }
    this.db.prepare(`UPDATE import_jobs SET ${sets.join(', ')} WHERE id = @id`).run(params);
    const job = this.get(id);
    if (!job) throw new Error(`import job ${id} vanished`);
    return job;
  }
}

function toJob(r: Row): ImportJob {
  return {
    id: r.id as string,
    kind: 'gex',
    origin: r.origin as string,
    url: (r.url as string | null) ?? null,
    path: (r.path as string | null) ?? null,
    category: r.category as string,
    state: r.state as JobState,
    step: r.step as Step,
    attempts: r.attempts as number,
    bytesDone: r.bytes_done as number,
    bytesTotal: (r.bytes_total as number | null) ?? null,
    recordsDone: r.records_done as number,
    recordsValid: r.records_valid as number,
    recordsInvalid: r.records_invalid as number,
    snapshotsInserted: r.snapshots_inserted as number,
    strikesInserted: r.strikes_inserted as number,
    strikesDuplicate: r.strikes_duplicate as number,
    contentHash: (r.content_hash as string | null) ?? null,
    stagedPath: (r.staged_path as string | null) ?? null,
    backupId: (r.backup_id as string | null) ?? null,
    duplicateOf: (r.duplicate_of as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    report: JSON.parse((r.report as string) || '{}') as JobReport,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    startedAt: (r.started_at as string | null) ?? null,
    finishedAt: (r.finished_at as string | null) ?? null,
  };
}
