export { Journal, type JournalDb, type JournalMigration } from './journal';
export { warehouseJson } from './json';
export type { Migration } from './migrations';
export { JOURNAL_FILE, openStores, type StoreMigrations, type Stores, WAREHOUSE_FILE } from './stores';
export { type SqlParams, sqlString, Warehouse, type WarehouseMigration } from './warehouse';
