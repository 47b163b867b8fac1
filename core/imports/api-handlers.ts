/** Handlers for imports.*, backups.*, exports.* and integrity.* (contract: core/api/imports.ts). */
import type { EventHub } from '../api';
import type { Settings } from '../config';
import type { IntegrityService } from '../integrity';
import type { Stores } from '../storage';
import { createBackup, listBackups, verifyBackup } from './backups';
import { exportableTables, exportTableToParquet } from './parquet';
import type { ImportQueue } from './queue';

export interface ImportsHandlerDeps {
  queue: ImportQueue;
  integrity: IntegrityService;
  stores: Stores;
  settings: () => Settings;
  dataDir: () => string;
  events: EventHub;
}

export function importsHandlers(deps: ImportsHandlerDeps) {
  return {
    'imports.list': ({ limit }: { limit: number }) => ({ jobs: deps.queue.list(limit) }),
    'imports.get': ({ id }: { id: string }) => deps.queue.get(id),
    'imports.enqueue': (input: { url?: string; path?: string; category?: string }) =>
      deps.queue.enqueue({ ...input, source: 'ui' }),
    'imports.cancel': ({ id }: { id: string }) => deps.queue.cancel(id),
    'imports.retry': ({ id }: { id: string }) => deps.queue.retry(id),
    'backups.list': async () => ({ backups: await listBackups(deps.dataDir()) }),
    'backups.create': async () => {
      const b = await createBackup(deps.stores, deps.dataDir(), {
        reason: 'on demand',
        retention: deps.settings().BACKUP_RETENTION,
      });
      deps.events.emit('backups.changed', {});
      return b;
    },
    'backups.verify': ({ id }: { id: string }) => verifyBackup(deps.dataDir(), id),
    'exports.tables': async () => ({ tables: await exportableTables(deps.stores.warehouse) }),
    'exports.parquet': (input: { table: string; from?: string; to?: string; tickers?: string[] }) =>
      exportTableToParquet(deps.stores.warehouse, deps.dataDir(), input),
    'integrity.run': ({ sources }: { sources?: string[] }) => deps.integrity.run({ sources, trigger: 'manual' }),
    'integrity.list': ({ limit }: { limit: number }) => ({ reports: deps.integrity.list(limit) }),
    'integrity.get': ({ id }: { id: string }) => deps.integrity.get(id),
  };
}
