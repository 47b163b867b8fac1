/** Public face of core/integrity: per-source checks (duplicates, gaps, anomalies, spot checks) and stored reports. */
import type { JournalMigration, WarehouseMigration } from '../storage';
import { integrityJournalMigrations } from './service';

export { type CheckScope, type Finding, INTEGRITY_SOURCES, type IntegritySource } from './checks';
export { type IntegrityReport, type IntegrityReportSummary, IntegrityService } from './service';

export const journalMigrations: JournalMigration[] = [...integrityJournalMigrations];
export const warehouseMigrations: WarehouseMigration[] = [];
