/**
 * The Unusual Whales stream as a workstation service: built from the settings, restarted when a UW setting
 * changes, its status announced as the `webhooks.stream` event and served by `webhooks.streamStatus`.
 */
import type { EventHub } from '../api';
import type { Settings, SettingsStore } from '../config';
import type { Clock, Logger } from '../platform';
import { type UwFrameSink, UwStreamConnector, type UwStreamStatus } from './uw-stream';

const UW_SETTINGS = ['UW_API_TOKEN', 'UW_CHANNELS', 'UW_STREAM_URL', 'WEBHOOK_BODY_LIMIT'] as const;

export interface UwStreamServiceDeps {
  settings: SettingsStore;
  events: EventHub;
  logger: Logger;
  clock: Clock;
  sink: UwFrameSink;
  /** Called after every status announcement (e.g. to refresh the listener status that embeds it). */
  onStatus?: (status: UwStreamStatus) => void;
}

export class UwStreamService {
  readonly name = 'uw-stream';
  readonly connector: UwStreamConnector;
  private readonly settings: SettingsStore;
  private readonly logger: Logger;
  private offSettings: (() => void) | null = null;
  private lastState: UwStreamStatus['state'] | null = null;
  /** Restarts are chained so two quick setting changes never run two sockets. */
  private restarting: Promise<void> = Promise.resolve();

  constructor(deps: UwStreamServiceDeps) {
    this.settings = deps.settings;
    this.logger = deps.logger;
    this.connector = new UwStreamConnector({
      sink: deps.sink,
      logger: deps.logger,
      clock: deps.clock,
      onStatus: (status) => {
        deps.events.emit('webhooks.stream', status);
        // The connector no longer dials: without a notice the trader would only find out from missing data.
        if (status.state === 'refused' && this.lastState !== 'refused') {
          deps.events.emit('system.notice', {
            level: 'error',
            title: 'Unusual Whales stream stopped',
            message: status.lastError ?? 'Unusual Whales refused the token',
            link: '#/webhooks',
          });
        }
        this.lastState = status.state;
        deps.onStatus?.(status);
      },
    });
  }

  status(): UwStreamStatus {
    return this.connector.status();
  }

  async start(): Promise<void> {
    this.offSettings = this.settings.onChange((settings, changed) => {
      if (!changed.some((k) => (UW_SETTINGS as readonly string[]).includes(k))) return;
      this.logger.info('Unusual Whales settings changed; restarting the stream', { changed });
      this.restarting = this.restarting
        .then(() => this.connector.start(configFrom(settings)))
        .catch((err) => this.logger.error('Unusual Whales stream restart failed', { error: err as Error }));
    });
    await this.connector.start(configFrom(this.settings.get()));
  }

  /** Chained with setting restarts, like them. */
  async reconnect(): Promise<UwStreamStatus> {
    this.restarting = this.restarting.then(() => this.connector.reconnect());
    await this.restarting;
    return this.connector.status();
  }

  async stop(): Promise<void> {
    this.offSettings?.();
    this.offSettings = null;
    await this.restarting;
    await this.connector.stop();
  }
}

function configFrom(settings: Settings) {
  return {
    token: settings.UW_API_TOKEN,
    channels: settings.UW_CHANNELS,
    url: settings.UW_STREAM_URL,
    maxFrameBytes: settings.WEBHOOK_BODY_LIMIT,
  };
}

/** Contract handlers served by this service (spread into Workstation.handlers()). */
export function uwStreamHandlers(service: UwStreamService) {
  return {
    'webhooks.streamStatus': () => service.status(),
    'webhooks.streamReconnect': () => service.reconnect(),
  };
}
