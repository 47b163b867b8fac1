/** Opens both stores from DATA_DIR: check both first, migrate only when both are usable. */

import { join } from 'node:path';
import { makeFolderSync } from '../platform/folders';
import { Journal, type JournalMigration } from './journal';
import { Warehouse, type WarehouseMigration } from './warehouse';

export const WAREHOUSE_FILE = 'market.duckdb';
export const JOURNAL_FILE = 'journal.sqlite';

export interface Stores {
  journal: Journal;
  warehouse: Warehouse;
  close(): Promise<void>;
}

export interface StoreMigrations {
  journal: readonly JournalMigration[];
  warehouse: readonly WarehouseMigration[];
}

export async function openStores(dataDir: string, migrations: StoreMigrations): Promise<Stores> {
  makeFolderSync(dataDir);
  const journal = Journal.open(join(dataDir, JOURNAL_FILE));
  let warehouse: Warehouse | undefined;
  try {
    journal.assertNotNewer(migrations.journal);
    warehouse = await Warehouse.open(join(dataDir, WAREHOUSE_FILE));
    await warehouse.assertNotNewer(migrations.warehouse);
    journal.migrate(migrations.journal);
    await warehouse.migrate(migrations.warehouse);
  } catch (err) {
    await warehouse?.close().catch(() => undefined);
    journal.close();
    throw err;
  }
  const opened = warehouse;
  return {
    journal,
    warehouse: opened,
    async close() {
      await opened.close();
      journal.close();
    },
  };
}
