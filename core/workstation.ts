/**
 * The composition root: builds every service from the settings, starts them in order and
 * stops them in reverse. Everything the app does hangs off one Workstation.
 */
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiDispatcher, EventHub, type Handlers, isMethodName } from './api';
import { type LoadedSettings, type SettingKey, SettingsStore, settingDocs } from './config';
import { dashboardHandlers } from './dashboard';
import { type IbGatewaySimulator, type IbkrConnection, IbkrService } from './ibkr';
import { ibkrHandlers } from './ibkr/api-handlers';
import type { HistoricalSource } from './ibkr/types';
import { buildImportServices, type ImportServices } from './imports';
import { BarCache, cacheHandlers, RefreshJobs, sweepIndicatorFiles } from './marketdata';
import { ALL_MIGRATIONS } from './migrations';
import { buildRunServices, type RunServices } from './pipeline/services';
import { type Clock, fileSink, Logger, type LogSink, streamSink, systemClock } from './platform';
import { openStores, type Stores } from './storage';
import { APP_NAME, APP_VERSION } from './version';
import { UwStreamService, uwStreamHandlers, WebhookService, webhooksHandlers } from './webhooks';

/** A service that takes longer than this to stop is named in the log. */
const SLOW_STOP_MS = 1_000;

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
  /** Only for a long-lived workstation (listener, stream, schedules): CLI commands do their one job without it. */
  daemon?: boolean;
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
  /** Webhook listener, inbox, processor (core/webhooks); the UW stream appends through `webhooks.uwFrameSink()`. */
  webhooks!: WebhookService;
  /** Unusual Whales WebSocket stream (core/webhooks/uw-stream): frames go through the same ingest path as POST /uw. */
  uwStream!: UwStreamService;
  private barCacheInstance!: BarCache;
  private ibkrService!: IbkrService;
  private readonly refreshJobs = new RefreshJobs();
  /** Pipeline runs: tracker, artifacts, pipeline, scheduler (core/pipeline, core/runs, core/scheduler). */
  runs!: RunServices;
  /** History import queue, backups, Parquet export and integrity reports (core/imports, core/integrity). */
  imports!: ImportServices;
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
    try {
      await sweepIndicatorFiles(stores.warehouse);
    } catch (err) {
      await stores.close();
      throw err;
    }
    sinks.push(fileSink(join(settings.DATA_DIR, 'logs', 'marketdesk.log')));
    const logger = new Logger(sinks, settings.LOG_LEVEL, { app: 'marketdesk' });
    return new Workstation(options, stores, logger);
  }

  get dataDir(): string {
    return this.settings.get().DATA_DIR;
  }

  /** Historical bars, cached in the warehouse (core/marketdata). */
  get barCache(): BarCache {
    return this.barCacheInstance;
  }

  /** The IBKR connection (core/ibkr): status, reconnect, health, contract resolution. */
  get ibkr(): IbkrConnection {
    return this.ibkrService.connection;
  }

  /** The in-process simulated IB Gateway in demo mode (null otherwise): tests can flip its fault switches. */
  get ibkrSimulator(): IbGatewaySimulator | null {
    return this.ibkrService.simulator;
  }

  /** Historical bars from IBKR (or the demo simulator), split and paced (core/ibkr). */
  get historicalSource(): HistoricalSource {
    return this.ibkrService.historicalSource;
  }

  /** Capabilities register their long-lived parts here, in start order. */
  private buildServices(): void {
    this.ibkrService = new IbkrService({
      settings: this.settings,
      logger: this.logger,
      demo: this.demo,
      clock: this.clock,
      onStatus: (status) => this.events.emit('ibkr.status', status),
    });
    this.addService({ name: 'ibkr', start: () => this.ibkrService.start(), stop: () => this.ibkrService.stop() });
    this.barCacheInstance = new BarCache({
      warehouse: this.stores.warehouse,
      journal: this.stores.journal,
      settings: () => this.settings.get(),
      source: () => this.historicalSource,
      clock: this.clock,
      logger: this.logger,
      sourceName: this.demo ? 'ibkr-simulator' : 'ibkr',
    });
    this.addService({ name: 'bar-cache', stop: () => this.refreshJobs.stop() });
    this.runs = buildRunServices(this);
    for (const service of this.runs.services) this.addService(service);
    this.webhooks = new WebhookService({
      journal: this.stores.journal,
      warehouse: this.stores.warehouse,
      settings: this.settings,
      events: this.events,
      logger: this.logger,
      clock: this.clock,
      ephemeralDefaultPort: this.mode === 'test',
    });
    this.addService({ name: 'webhooks', daemon: true, start: () => this.webhooks.start(), stop: () => this.webhooks.stop() });
    this.uwStream = new UwStreamService({
      settings: this.settings,
      events: this.events,
      logger: this.logger.child({ component: 'uw-stream' }),
      clock: this.clock,
      sink: this.webhooks.uwFrameSink(),
      onStatus: () => this.webhooks.markDirty(),
    });
    this.webhooks.setStreamStatusSource(() => this.uwStream.status());
    this.addService({ name: 'uw-stream', daemon: true, start: () => this.uwStream.start(), stop: () => this.uwStream.stop() });
    this.imports = buildImportServices(this);
    for (const service of this.imports.services) this.addService(service);
  }

  addService(service: Service): void {
    this.services.push(service);
  }

  private handlers(): Handlers {
    return {
      ...dashboardHandlers({
        settings: () => this.settings.get(),
        demo: this.demo,
        dataDir: () => this.dataDir,
        call: (m, i) => this.dispatcher.call(m, i),
        has: isMethodName,
      }),
      ...ibkrHandlers({ connection: () => this.ibkr }),
      ...cacheHandlers(
        {
          cache: this.barCache,
          settings: () => this.settings.get(),
          events: this.events,
          clock: this.clock,
          logger: this.logger,
        },
        this.refreshJobs,
      ),
      ...this.runs.handlers(),
      ...webhooksHandlers(this.webhooks),
      ...uwStreamHandlers(this.uwStream),
      ...this.imports.handlers(),
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
      if (service.daemon && this.mode === 'cli') continue;
      await service.start?.();
      this.started.push(service);
    }
    this.logger.info('workstation started', { mode: this.mode, dataDir: this.dataDir, demo: this.demo });
  }

  /** Idempotent: stops services in reverse order, then checkpoints and closes both stores. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const service of [...this.started].reverse()) {
        const began = Date.now();
        try {
          await service.stop?.();
        } catch (err) {
          this.logger.error('service failed to stop', { service: service.name, error: err as Error });
        }
        // A slow quit must name what held it up (the desktop app kills the core after 15 s).
        const tookMs = Date.now() - began;
        if (tookMs > SLOW_STOP_MS) this.logger.warn('service was slow to stop', { service: service.name, tookMs });
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
