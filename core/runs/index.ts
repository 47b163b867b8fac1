/** Public face of core/runs: the RunTracker (journal record of every run) and the artifact store. */
import type { JournalMigration, WarehouseMigration } from '../storage';

export const journalMigrations: JournalMigration[] = [
  {
    id: 'runs/0001_runs',
    up: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        status TEXT NOT NULL,
        trigger TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        params TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '{}',
        outputs TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        replay_of TEXT
      );
      CREATE INDEX runs_by_start ON runs (started_at);
      CREATE INDEX runs_by_workflow_status ON runs (workflow, status);
      CREATE TABLE run_tasks (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        error TEXT,
        PRIMARY KEY (run_id, task, attempt)
      );
      CREATE TABLE run_metrics (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value REAL NOT NULL,
        step INTEGER NOT NULL DEFAULT 0,
        time TEXT NOT NULL
      );
      CREATE INDEX run_metrics_by_run ON run_metrics (run_id, key);
      CREATE TABLE run_logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        time TEXT NOT NULL,
        level TEXT NOT NULL,
        task TEXT,
        attempt INTEGER,
        message TEXT NOT NULL,
        fields TEXT
      );
      CREATE INDEX run_logs_by_run ON run_logs (run_id, id);
      CREATE TABLE run_artifacts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        checksum TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (run_id, name)
      );
      CREATE INDEX run_artifacts_by_created ON run_artifacts (created_at);
    `,
  },
];
export const warehouseMigrations: WarehouseMigration[] = [];

export { type ArtifactKind, type ArtifactRecord, ArtifactStore, type ArtifactStoreOptions } from './artifacts';
export { parseRunSearch, type RunSearch, RunSearchError } from './search';
export {
  type LogEntry,
  type LogFilter,
  type MetricPoint,
  type RunDetail,
  RunLog,
  type RunStatus,
  type RunSummary,
  RunTracker,
  type RunTrigger,
  type TaskRunRecord,
  type TaskStatus,
} from './tracker';
