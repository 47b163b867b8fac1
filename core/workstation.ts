/**
 * The composition root: builds every service from the settings, starts them in order and
 * stops them in reverse. Everything the app does hangs off one Workstation.
 */
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiDispatcher, EventHub, type Handlers } from './api';
import { type LoadedSettings, type SettingKey, SettingsStore, settingDocs } from './config';
import { ALL_MIGRATIONS } from './migrations';
import { type Clock, fileSink, Logger, type LogSink, streamSink, systemClock } from './platform';
import { openStores, type Stores } from './storage';
import { APP_NAME, APP_VERSION } from './version';

export type WorkstationMode = 'serve' | 'desktop' | 'cli' | 'test';

export interface WorkstationOptions {
  loaded: LoadedSettings;
  mode: WorkstationMode;
  /** Run against the built-in simulated IB Gateway. */
  demo?: boolean;
  clock?: Clock;
  /** Extra log sinks (tests); a JSON-lines file in <DATA_DIR>/logs is always written. */
  logSinks?: LogSink[];
  logToStderr?: boolean;
}

/** A long-lived part of the workstation (listener, scheduler, connection). */
export interface Service {
  name: string;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

export class Workstation {
  readonly settings: SettingsStore;
  readonly stores: Stores;
  readonly events = new EventHub();
  readonly logger: Logger;
  readonly clock: Clock;
  readonly mode: WorkstationMode;
  readonly demo: boolean;
  readonly dispatcher: ApiDispatcher;
  private readonly services: Service[] = [];
  private readonly startedAt = new Date();
  private started: Service[] = [];
  private stopping: Promise<void> | null = null;

  private constructor(options: WorkstationOptions, stores: Stores, logger: Logger) {
    this.settings = new SettingsStore(options.loaded);
    this.stores = stores;
    this.logger = logger;
    this.clock = options.clock ?? systemClock;
    this.mode = options.mode;
    this.demo = options.demo ?? false;
    this.settings.onChange((settings, changed) => {
      if (changed.includes('LOG_LEVEL')) this.logger.setLevel(settings.LOG_LEVEL);
      this.events.emit('settings.changed', { changed });
    });
    this.buildServices();
    this.dispatcher = new ApiDispatcher(this.handlers(), logger.child({ component: 'api' }));
  }

  /** Opens and migrates the stores; a store problem throws before anything else happens. */
  static async open(options: WorkstationOptions): Promise<Workstation> {
    const { settings } = options.loaded;
    const sinks: LogSink[] = [...(options.logSinks ?? [])];
    if (options.logToStderr) sinks.push(streamSink(process.stderr));
    const stores = await openStores(settings.DATA_DIR, ALL_MIGRATIONS);
    sinks.push(fileSink(join(settings.DATA_DIR, 'logs', 'marketdesk.log')));
    const logger = new Logger(sinks, settings.LOG_LEVEL, { app: 'marketdesk' });
    return new Workstation(options, stores, logger);
  }

  get dataDir(): string {
    return this.settings.get().DATA_DIR;
  }

  /** Capabilities register their long-lived parts here, in start order. */
  private buildServices(): void {
    // Later capabilities add: ibkr connection, bar cache, webhook listener, scheduler, import queue.
  }

  addService(service: Service): void {
    this.services.push(service);
  }

  private handlers(): Handlers {
    return {
      'system.status': () => this.status(),
      'settings.get': () => this.settingsView(),
      'settings.update': ({ values }) => {
        const { changed } = this.settings.update(values as Partial<Record<SettingKey, unknown>>);
        return { changed, settings: this.settingsView() };
      },
    };
  }

  async start(): Promise<void> {
    for (const service of this.services) {
      await service.start?.();
      this.started.push(service);
    }
    this.logger.info('workstation started', { mode: this.mode, dataDir: this.dataDir, demo: this.demo });
  }

  /** Idempotent: stops services in reverse order, then checkpoints and closes both stores. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const service of [...this.started].reverse()) {
        try {
          await service.stop?.();
        } catch (err) {
          this.logger.error('service failed to stop', { service: service.name, error: err as Error });
        }
      }
      this.started = [];
      await this.stores.close();
      this.logger.info('workstation stopped');
      await this.logger.close();
    })();
    return this.stopping;
  }

  async status() {
    const [warehouse, journal] = [await this.stores.warehouse.health(), this.stores.journal.health()];
    return {
      app: { name: APP_NAME, version: APP_VERSION },
      versions: { node: process.versions.node, ...(process.versions.electron ? { electron: process.versions.electron } : {}) },
      mode: this.mode,
      demo: this.demo,
      debugMode: this.settings.get().DEBUG_MODE,
      dataDir: this.dataDir,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      stores: {
        warehouse: { ...warehouse, path: this.stores.warehouse.path },
        journal: { ...journal, path: this.stores.journal.path },
      },
      diskFreeBytes: await diskFree(this.dataDir),
    };
  }

  settingsView() {
    return { ...this.settings.describe(), docs: settingDocs };
  }
}

async function diskFree(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
