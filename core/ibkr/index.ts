/** Public face of core/ibkr. */
import type { JournalMigration, WarehouseMigration } from '../storage';

export const journalMigrations: JournalMigration[] = [];
export const warehouseMigrations: WarehouseMigration[] = [];
