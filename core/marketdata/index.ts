/** Public face of core/marketdata: the bar cache over the warehouse. */
import type { JournalMigration, WarehouseMigration } from '../storage';
import { marketdataJournalMigrations, marketdataWarehouseMigrations } from './schema';

export const journalMigrations: JournalMigration[] = marketdataJournalMigrations;
export const warehouseMigrations: WarehouseMigration[] = marketdataWarehouseMigrations;

export { type CacheHandlerDeps, cacheHandlers, RefreshJobs } from './api-handlers';
export { BarCache, type BarCacheDeps, type CacheListEntry, type ClearFilter, emptyColumns } from './bar-cache';
export { readFloat64Columns } from './columns';
export * from './coverage';
export { indicatorDir, sweepIndicatorFiles } from './indicator-files';
export { describeError, isTransient, type RefreshOptions, type RefreshRequest, runRefresh } from './refresh';
export type * from './types';
export { BAR_FIELDS } from './types';
