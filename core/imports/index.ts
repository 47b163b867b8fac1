/**
 * Public face of core/imports: history import jobs (journal-backed queue: download → validate →
 * stage → merge in one transaction → Parquet export), backups of both stores, and Parquet export.
 */
import type { JournalMigration, WarehouseMigration } from '../storage';
import { stagingWarehouseMigrations } from './gex-stage';
import { importJournalMigrations } from './jobs';

export { importsHandlers } from './api-handlers';
export {
  type BackupInfo,
  type BackupManifest,
  createBackup,
  listBackups,
  pruneBackups,
  readManifest,
  restoreBackup,
  type VerifyResult,
  verifyBackup,
} from './backups';
export { CronTrigger } from './cron-trigger';
export { FINAL_STATES, type ImportJob, JOB_STATES, type JobReport, type JobState } from './jobs';
export { type ExportRequest, type ExportResult, exportTableToParquet } from './parquet';
export { type EnqueueImportInput, type EnqueueImportResult, enqueueImport, ImportQueue } from './queue';
export { buildImportServices, type ImportServices } from './services';

export const journalMigrations: JournalMigration[] = [...importJournalMigrations];
export const warehouseMigrations: WarehouseMigration[] = [...stagingWarehouseMigrations];
