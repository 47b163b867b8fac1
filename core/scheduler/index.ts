/** Public face of core/scheduler: cron-driven pipeline runs, pause/resume, missed-run reports. */
import type { JournalMigration, WarehouseMigration } from '../storage';

export const journalMigrations: JournalMigration[] = [
  {
    id: 'scheduler/0001_state',
    up: `
      CREATE TABLE scheduler_state (
        workflow TEXT PRIMARY KEY,
        last_fire_at TEXT,
        last_alive_at TEXT
      );
      CREATE TABLE scheduler_missed (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workflow TEXT NOT NULL,
        expected_at TEXT NOT NULL,
        detected_at TEXT NOT NULL
      );
      CREATE INDEX scheduler_missed_by_workflow ON scheduler_missed (workflow, expected_at);
    `,
  },
  // The outcome of the last fire (started / refused / failed) survives a restart, like its time.
  { id: 'scheduler/0002_last_result', up: 'ALTER TABLE scheduler_state ADD COLUMN last_result TEXT' },
];
export const warehouseMigrations: WarehouseMigration[] = [];

export { type MissedRun, nextRunTimes, type SchedulerDeps, type SchedulerStatus, WorkflowScheduler } from './scheduler';
