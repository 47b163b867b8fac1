/**
 * Builds the run-tracking side of a workstation: RunTracker, ArtifactStore, Pipeline and the
 * WorkflowScheduler, their start/stop services and their contract handlers.
 */
import type { EventHub } from '../api';
import type { SettingKey, Settings, SettingsStore } from '../config';
import { type Clock, errorMessage, type Logger, systemClock } from '../platform';
import { ArtifactStore, RunTracker } from '../runs';
import { WorkflowScheduler } from '../scheduler';
import type { Stores } from '../storage';
import { bridgeRunEvents, runsHandlers } from './api-handlers';
import { type BarSourceLike, type IbkrHealthLike, Pipeline, WORKFLOW } from './workflow';

export interface RunServicesHost {
  stores: Stores;
  settings: SettingsStore;
  events: EventHub;
  clock: Clock;
  logger: Logger;
  mode: 'serve' | 'desktop' | 'cli' | 'test';
  dataDir: string;
  barCache?: BarSourceLike;
  ibkr?: IbkrHealthLike;
}

export interface RunServices {
  tracker: RunTracker;
  artifacts: ArtifactStore;
  pipeline: Pipeline;
  scheduler: WorkflowScheduler;
  /** Whether the scheduler arms itself in this mode (serve/desktop, or tests with an injected clock). */
  schedulerEnabled: boolean;
  services: { name: string; start?(): Promise<void>; stop?(): Promise<void> }[];
  handlers(): ReturnType<typeof runsHandlers>;
}

export function buildRunServices(host: RunServicesHost): RunServices {
  const logger = host.logger.child({ component: 'runs' });
  const settings = () => host.settings.get();
  const notify = (n: { level: 'info' | 'warn' | 'error'; title: string; message: string; link?: string }) =>
    host.events.emit('system.notice', n);
  const tracker = new RunTracker(host.stores.journal.db, { clock: host.clock, logger });
  const artifacts = new ArtifactStore({ dataDir: host.dataDir, tracker, logger, clock: host.clock });
  const pipeline = new Pipeline({
    warehouse: host.stores.warehouse,
    journal: host.stores.journal,
    tracker,
    artifacts,
    barCache: () => host.barCache,
    ibkr: () => host.ibkr,
    settings,
    clock: host.clock,
    logger: host.logger,
    dataDir: host.dataDir,
    notify,
  });
  const scheduler = new WorkflowScheduler({
    workflow: WORKFLOW,
    db: host.stores.journal.db,
    settings,
    onSettingsChange: (l) => host.settings.onChange((s: Settings, changed: SettingKey[]) => l(s, changed)),
    updateSettings: (patch) => {
      host.settings.update(patch);
    },
    fire: () => pipeline.trigger({ trigger: 'scheduled' }).runId,
    clock: host.clock,
    logger: host.logger,
    notify,
    onStatus: (status) => host.events.emit('scheduler.updated', status),
  });
  const schedulerEnabled =
    host.mode === 'serve' || host.mode === 'desktop' || (host.mode === 'test' && host.clock !== systemClock);
  let unbridge: (() => void) | null = null;
  return {
    tracker,
    artifacts,
    pipeline,
    scheduler,
    schedulerEnabled,
    services: [
      {
        name: 'runs',
        async start() {
          const interrupted = tracker.markInterrupted();
          if (interrupted.length > 0) {
            logger.warn('runs left running by an earlier process were marked interrupted', { runIds: interrupted });
          }
          unbridge = bridgeRunEvents(tracker, host.events);
          await artifacts.drainSpool().catch((err) => logger.warn('spool drain failed', { error: errorMessage(err) }));
        },
        async stop() {
          await pipeline.stop();
          tracker.flush();
          unbridge?.();
        },
      },
      {
        name: 'scheduler',
        async start() {
          if (schedulerEnabled) await scheduler.start();
        },
        async stop() {
          if (schedulerEnabled) await scheduler.stop();
        },
      },
    ],
    handlers: () => runsHandlers({ pipeline, tracker, scheduler, warehouse: host.stores.warehouse, settings, clock: host.clock }),
  };
}
