/** Public face of core/integrity. */
import type { JournalMigration, WarehouseMigration } from '../storage';

export const journalMigrations: JournalMigration[] = [];
export const warehouseMigrations: WarehouseMigration[] = [];
