/**
 * The IBKR part of the workstation: connection, pacing limiter and historical source, plus the in-process
 * simulated gateway in `--demo` mode.
 *
 * Decisions:
 * - Start-up never waits on (or fails because of) IBKR in live mode: the connection starts in the
 *   background, the status shows any error and the reconnect loop keeps trying. In demo mode start-up
 *   waits up to 3 s for the in-process simulator so the UI opens connected.
 * - DEBUG_MODE (offline replay) keeps the connection closed on purpose (status `offline: true`), and the
 *   historical source refuses with IBKR_OFFLINE as a second guard; turning DEBUG_MODE off connects.
 *   "Nothing touches the network" is then literally true, demo mode included.
 * - IB_HOST / IB_PORT / IB_CLIENT_ID changes reconnect to the new target (ignored in demo mode).
 */
import type { Settings, SettingsStore } from '../config';
import { type Clock, errorMessage, type Logger, systemClock } from '../platform';
import { IbkrConnection, type IbkrConnectionOptions, type IbkrStatus } from './connection';
import { type HistoricalSourceOptions, IbkrHistoricalSource } from './historical';
import { PacingLimiter, type PacingOptions } from './pacing';
import { IbGatewaySimulator, type SimulatorOptions } from './simulator';

/** What `--demo` runs against: a little latency so progress is visible, one symbol that does not exist. */
export const DEMO_SIMULATOR_OPTIONS: SimulatorOptions = {
  latencyMs: 40,
  unknownSymbols: ['NOSUCH', 'ZZZZ'],
  accounts: ['DU0000001'],
};

export interface IbkrServiceOptions {
  settings: SettingsStore;
  logger: Logger;
  demo: boolean;
  clock?: Clock;
  simulator?: SimulatorOptions;
  connection?: Partial<IbkrConnectionOptions>;
  pacing?: PacingOptions;
  historical?: Pick<HistoricalSourceOptions, 'retry' | 'requestTimeoutMs'>;
  onStatus?: (status: IbkrStatus) => void;
}

export class IbkrService {
  readonly connection: IbkrConnection;
  readonly limiter: PacingLimiter;
  readonly historicalSource: IbkrHistoricalSource;
  simulator: IbGatewaySimulator | null = null;
  private readonly options: IbkrServiceOptions;
  private readonly logger: Logger;
  private unsubscribe: (() => void) | null = null;

  constructor(options: IbkrServiceOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'ibkr' });
    const s = options.settings.get();
    const clock = options.clock ?? systemClock;
    this.connection = new IbkrConnection({
      host: s.IB_HOST,
      port: s.IB_PORT,
      clientId: s.IB_CLIENT_ID,
      mode: options.demo ? 'demo' : 'live',
      logger: options.logger,
      ...options.connection,
    });
    if (options.onStatus) this.connection.onStatus(options.onStatus);
    this.limiter = new PacingLimiter({ clock, ...options.pacing });
    this.historicalSource = new IbkrHistoricalSource({
      connection: this.connection,
      limiter: this.limiter,
      logger: options.logger,
      clock,
      isOffline: () => this.options.settings.get().DEBUG_MODE,
      ...options.historical,
    });
  }

  async start(): Promise<void> {
    if (this.options.demo) {
      try {
        this.simulator = new IbGatewaySimulator({ ...DEMO_SIMULATOR_OPTIONS, ...this.options.simulator });
        const port = await this.simulator.start();
        this.connection.setTarget({ host: '127.0.0.1', port, mode: 'demo' });
        this.logger.info('demo mode: simulated IB Gateway listening', { port });
      } catch (err) {
        this.logger.error('demo mode: the simulated IB Gateway did not start', { error: errorMessage(err) });
      }
    }
    this.unsubscribe = this.options.settings.onChange((settings, changed) => this.onSettings(settings, changed));
    await this.apply(this.options.settings.get());
    if (this.options.demo && !this.options.settings.get().DEBUG_MODE) {
      await this.connection.waitForConnected(3_000).catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.connection.stop('workstation stopping');
    await this.simulator?.stop();
  }

  private async apply(settings: Settings): Promise<void> {
    if (settings.DEBUG_MODE) {
      this.logger.info('DEBUG_MODE: IBKR stays disconnected (offline replay from the cache)');
      await this.connection.goOffline();
    } else {
      this.connection.start();
    }
  }

  private onSettings(settings: Settings, changed: string[]): void {
    if (changed.includes('DEBUG_MODE')) {
      void this.apply(settings);
      return;
    }
    if (!this.options.demo && ['IB_HOST', 'IB_PORT', 'IB_CLIENT_ID'].some((k) => changed.includes(k))) {
      this.logger.info('IBKR target changed, reconnecting', { host: settings.IB_HOST, port: settings.IB_PORT });
      this.connection.setTarget({ host: settings.IB_HOST, port: settings.IB_PORT, clientId: settings.IB_CLIENT_ID });
    }
  }
}
