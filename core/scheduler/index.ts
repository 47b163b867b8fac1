/** Public face of core/scheduler. */
import type { JournalMigration, WarehouseMigration } from '../storage';

export const journalMigrations: JournalMigration[] = [];
export const warehouseMigrations: WarehouseMigration[] = [];
