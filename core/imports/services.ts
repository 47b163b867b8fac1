/**
 * Wires imports, backups and integrity into a Workstation: the import queue (a service that
 * resumes interrupted jobs at start), the backup and integrity schedules, and the contract handlers.
 * `POST /gex_history_url` (core/webhooks) queues jobs with `enqueueImport(journalDb, …)` inside its
 * inbox commit; the queue serving that journal is woken by it.
 */
import type { EventHub } from '../api';
import type { Settings } from '../config';
import type { HistoricalSource } from '../ibkr/types';
import { IntegrityService } from '../integrity';
import type { Clock, Logger } from '../platform';
import type { Stores } from '../storage';
import { importsHandlers } from './api-handlers';
import { createBackup } from './backups';
import { CronTrigger } from './cron-trigger';
import type { ImportJob } from './jobs';
import { ImportQueue } from './queue';

export interface ImportHost {
  stores: Stores;
  settings: { get(): Settings; onChange(listener: (settings: Settings, changed: string[]) => void): () => void };
  events: EventHub;
  logger: Logger;
  clock: Clock;
  readonly dataDir: string;
  /** The live bar source (bars spot check); absent or failing means the check is skipped. */
  historicalSource?: HistoricalSource;
  ibkr?: { connected: boolean };
}

export interface ImportServices {
  queue: ImportQueue;
  integrity: IntegrityService;
  services: { name: string; daemon?: boolean; start?(): Promise<void>; stop?(): Promise<void> }[];
  handlers: () => ReturnType<typeof importsHandlers>;
}

export function buildImportServices(host: ImportHost): ImportServices {
  const logger = host.logger.child({ component: 'imports' });
  const settings = () => host.settings.get();
  const integrity = new IntegrityService({
    stores: host.stores,
    logger: host.logger.child({ component: 'integrity' }),
    clock: host.clock,
    historicalSource: () => {
      if (settings().DEBUG_MODE) return undefined;
      try {
        return host.ibkr?.connected ? host.historicalSource : undefined;
      } catch {
        return undefined;
      }
    },
    onReport: (summary) => host.events.emit('integrity.report', summary),
  });
  const queue = new ImportQueue({
    stores: host.stores,
    settings,
    dataDir: () => host.dataDir,
    logger,
    clock: host.clock,
    onJob: (job) => host.events.emit('imports.job', job),
    onBackup: () => host.events.emit('backups.changed', {}),
    afterImport: async (job: ImportJob) => {
      const report = await integrity.run({
        sources: ['gex'],
        trigger: `import ${job.id}`,
        scope: { tickers: job.report.tickers ?? null, from: job.report.firstTs ?? null, to: job.report.lastTs ?? null },
      });
      return report.id;
    },
  });
  const backupTrigger = new CronTrigger({
    name: 'backup',
    expression: (s) => s.BACKUP_SCHEDULE,
    settings,
    onSettingsChange: (l) => host.settings.onChange(l),
    watch: ['BACKUP_SCHEDULE', 'WORKFLOW_TIMEZONE'],
    fire: async () => {
      await createBackup(host.stores, host.dataDir, { reason: 'scheduled', retention: settings().BACKUP_RETENTION });
      host.events.emit('backups.changed', {});
    },
    logger,
  });
  const integrityTrigger = new CronTrigger({
    name: 'integrity check',
    expression: (s) => s.INTEGRITY_SCHEDULE,
    settings,
    onSettingsChange: (l) => host.settings.onChange(l),
    watch: ['INTEGRITY_SCHEDULE', 'WORKFLOW_TIMEZONE'],
    fire: () => integrity.run({ trigger: 'scheduled' }),
    logger,
  });
  return {
    queue,
    integrity,
    services: [
      {
        name: 'imports',
        start: () => queue.start(),
        stop: () => queue.stop(),
      },
      { name: 'backup-schedule', daemon: true, start: () => backupTrigger.start(), stop: () => backupTrigger.stop() },
      { name: 'integrity-schedule', daemon: true, start: () => integrityTrigger.start(), stop: () => integrityTrigger.stop() },
    ],
    handlers: () =>
      importsHandlers({ queue, integrity, stores: host.stores, settings, dataDir: () => host.dataDir, events: host.events }),
  };
}
