/**
 * Unusual Whales stream connector: an optional WebSocket client that joins the configured channels and hands
 * every `[channel, payload]` frame to the same ingest path as `POST /uw`, so stream and webhook data are one.
 *
 * Unusual Whales has no outbound webhooks; its push feed is this socket. A WebSocket has no acknowledgements, so
 * the best we can do is append each frame to the durable inbox as soon as it arrives and, on a graceful stop,
 * wait for every frame already received to be committed before closing.
 */
import WebSocket, { type RawData } from 'ws';
import type { UwStreamStatus } from '../api/webhooks';
import {
  AppError,
  type BackoffPolicy,
  backoffDelay,
  type Clock,
  errorMessage,
  type Logger,
  retry,
  systemClock,
} from '../platform';

export const UW_DEFAULT_STREAM_URL = 'wss://api.unusualwhales.com/socket';

/** One frame as it came off the socket, already split into channel and payload. */
export interface UwStreamFrame {
  channel: string;
  payload: unknown;
  /** The exact text received, kept for the inbox. */
  raw: string;
  receivedAt: number;
}

export type UwIngestOutcome = 'accepted' | 'duplicate' | 'rejected';

/**
 * Where frames go: the workstation wires this to the webhooks inbox (the `/uw` ingest path).
 * `ingest` throws an AppError with a 4xx status (or answers 'rejected') for a frame the inbox refuses;
 * anything else thrown is treated as transient (store unavailable) and retried.
 */
export interface UwFrameSink {
  ingest(frame: UwStreamFrame): Promise<UwIngestOutcome | { outcome: UwIngestOutcome; reason?: string }>;
  /** A frame that is not a `[channel, payload]` JSON array: recorded in the rejected log with the reason. */
  reject?(raw: string, reason: string, receivedAt: number): Promise<void> | void;
}

/** The status shape is the contract's (`webhooks.streamStatus`, `webhooks.stream`, and inside `webhooks.status`). */
export type { UwStreamStatus };
export type UwStreamState = UwStreamStatus['state'];

export interface UwStreamConfig {
  token: string;
  channels: string[];
  url?: string;
  /** Largest frame accepted (bytes; WEBHOOK_BODY_LIMIT, as for `POST /uw`); a bigger one is refused and the socket redialled. */
  maxFrameBytes?: number;
}

/** Without a configured limit (tests): WEBHOOK_BODY_LIMIT's default, 1 MiB. ws alone would take 100 MiB. */
const UW_DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export interface UwStreamOptions {
  sink: UwFrameSink;
  logger: Logger;
  clock?: Clock;
  backoff?: BackoffPolicy;
  random?: () => number;
  /** A connection that lived this long (or delivered a frame) resets the backoff. */
  stableMs?: number;
  /** Ping interval; a connection that misses a pong is terminated and reconnected. */
  pingIntervalMs?: number;
  handshakeTimeoutMs?: number;
  /** How long a stop waits for the server to answer our close before the socket is cut (ws alone waits 30 s). */
  closeTimeoutMs?: number;
  /**
   * Frames being committed at once before the socket is paused (backpressure). Pausing stops reading from
   * TCP; frames already buffered are still delivered, so this is a soft bound.
   */
  maxInFlight?: number;
  onStatus?: (status: UwStreamStatus) => void;
}

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.2 };
const STATUS_THROTTLE_MS = 1_000;

export class UwStreamConnector {
  private readonly sink: UwFrameSink;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly stableMs: number;
  private readonly pingIntervalMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly onStatus?: (status: UwStreamStatus) => void;

  private config: UwStreamConfig = { token: '', channels: [] };
  private socket: WebSocket | null = null;
  private loop: Promise<void> | null = null;
  private abort: AbortController | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private paused = false;
  private lastStatusEmit = 0;
  private statusTimer: ReturnType<typeof setTimeout> | null = null;
  private current: UwStreamStatus;

  constructor(options: UwStreamOptions) {
    this.sink = options.sink;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.stableMs = options.stableMs ?? 30_000;
    this.pingIntervalMs = options.pingIntervalMs ?? 30_000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 2_000;
    this.maxInFlight = options.maxInFlight ?? 2_000;
    this.onStatus = options.onStatus;
    this.current = this.freshStatus();
  }

  status(): UwStreamStatus {
    return { ...this.current, channels: [...this.current.channels], joinedChannels: [...this.current.joinedChannels] };
  }

  get enabled(): boolean {
    return this.config.token.length > 0;
  }

  /** Starts (or restarts with new settings). Without a token the connector stays disabled. */
  async start(config: UwStreamConfig): Promise<void> {
    await this.stop();
    this.config = { ...config, token: config.token.trim(), channels: dedupe(config.channels) };
    this.current = this.freshStatus();
    if (!this.enabled) {
      this.emitStatus();
      return;
    }
    if (this.config.channels.length === 0) this.logger.warn('Unusual Whales stream has a token but no channels (UW_CHANNELS)');
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.run(abort.signal).catch((err) => {
      this.logger.error('Unusual Whales stream loop failed', { error: errorMessage(err) });
    });
    this.emitStatus();
  }

  /** Closes the socket and waits until every frame already received is committed. */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    this.abort = null;
    abort.abort(new Error('stream stopped'));
    await this.loop;
    this.loop = null;
    await this.drain();
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = null;
    this.update({ state: this.enabled ? 'stopped' : 'disabled', joinedChannels: [], nextRetryAt: null }, true);
  }

  /** Resolves when every frame received so far has been handed to the sink and answered. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private freshStatus(): UwStreamStatus {
    return {
      enabled: this.enabled,
      state: this.enabled ? 'connecting' : 'disabled',
      url: this.connectUrl(true),
      channels: [...this.config.channels],
      joinedChannels: [],
      framesReceived: 0,
      framesAccepted: 0,
      framesDuplicate: 0,
      framesRejected: 0,
      lastFrameAt: null,
      connectedAt: null,
      lastError: null,
      lastErrorAt: null,
      reconnectAttempts: 0,
      nextRetryAt: null,
    };
  }

  private connectUrl(masked = false): string {
    const url = new URL(this.config.url || UW_DEFAULT_STREAM_URL);
    if (this.config.token) url.searchParams.set('token', masked ? 'TOKEN' : this.config.token);
    return masked ? url.toString().replace('token=TOKEN', 'token=****') : url.toString();
  }

  /** Dials again at once with the same settings (after a refused token, or to skip a backoff wait). */
  async reconnect(): Promise<void> {
    if (!this.enabled) return;
    await this.start(this.config);
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const session = await this.connectOnce(signal);
      if (signal.aborted) break;
      if (session.tokenRefused) {
        // Redialling with a token UW refused only repeats the refusal (and can get the account throttled):
        // wait for a new token in Settings or the user's Reconnect.
        this.update({ state: 'refused', joinedChannels: [], nextRetryAt: null }, true);
        this.logger.warn('Unusual Whales stream stopped: the token was refused', { url: this.connectUrl(true) });
        break;
      }
      const stable = session.opened && (session.frames > 0 || session.lifetimeMs >= this.stableMs);
      failures = stable ? 1 : failures + 1;
      const delay = backoffDelay(failures, this.backoff, this.random);
      this.update(
        {
          state: 'backoff',
          joinedChannels: [],
          reconnectAttempts: this.current.reconnectAttempts + 1,
          nextRetryAt: new Date(this.clock.now() + delay).toISOString(),
        },
        true,
      );
      this.logger.info('Unusual Whales stream reconnecting', { delayMs: delay, attempt: failures });
      await sleepUnlessAborted(this.clock, delay, signal);
    }
  }

  /** One connection, from dial to close. Never throws: failures are recorded in the status. */
  private connectOnce(
    signal: AbortSignal,
  ): Promise<{ opened: boolean; frames: number; lifetimeMs: number; tokenRefused: boolean }> {
    return new Promise((resolve) => {
      this.update({ state: 'connecting', nextRetryAt: null }, true);
      let opened = false;
      let openedAt = 0;
      let frames = 0;
      let alive = true;
      let refused = false;
      let tokenRefused = false;
      let oversized = false;
      let pinger: ReturnType<typeof setInterval> | null = null;
      const maxPayload = this.config.maxFrameBytes ?? UW_DEFAULT_MAX_FRAME_BYTES;
      const socket = new WebSocket(this.connectUrl(), {
        handshakeTimeout: this.handshakeTimeoutMs,
        perMessageDeflate: true,
        maxPayload,
      });
      this.socket = socket;
      this.paused = false;

      let cutAfterClose: ReturnType<typeof setTimeout> | null = null;
      const finish = () => {
        if (pinger) clearInterval(pinger);
        if (cutAfterClose) clearTimeout(cutAfterClose);
        signal.removeEventListener('abort', onAbort);
        if (this.socket === socket) this.socket = null;
        resolve({ opened, frames, lifetimeMs: opened ? this.clock.now() - openedAt : 0, tokenRefused });
      };
      const onAbort = () => {
        socket.close(1000, 'client stopping');
        // A server that never answers the close would hold the stop for ws's 30 s.
        cutAfterClose = setTimeout(() => socket.terminate(), this.closeTimeoutMs);
      };
      signal.addEventListener('abort', onAbort, { once: true });

      socket.on('open', () => {
        opened = true;
        openedAt = this.clock.now();
        for (const channel of this.config.channels) socket.send(JSON.stringify({ channel, msg_type: 'join' }));
        // A channel counts as joined once the server acknowledges it (or sends data on it).
        this.update({ state: 'open', joinedChannels: [], connectedAt: new Date(openedAt).toISOString() }, true);
        this.logger.info('Unusual Whales stream connected', { url: this.connectUrl(true), channels: this.config.channels });
        pinger = setInterval(() => {
          if (!alive) {
            this.recordError('no pong from the Unusual Whales stream; reconnecting');
            socket.terminate();
            return;
          }
          alive = false;
          socket.ping();
        }, this.pingIntervalMs);
        pinger.unref?.();
      });
      socket.on('pong', () => {
        alive = true;
      });
      socket.on('message', (data: RawData, isBinary: boolean) => {
        alive = true;
        if (this.onFrame(socket, rawText(data, isBinary))) frames++;
      });
      socket.on('unexpected-response', (_req, res) => {
        tokenRefused = res.statusCode === 401 || res.statusCode === 403;
        const reason = tokenRefused
          ? `Unusual Whales refused the token (HTTP ${res.statusCode}); check UW_API_TOKEN in Settings, then Reconnect`
          : `Unusual Whales stream answered HTTP ${res.statusCode}`;
        refused = true;
        this.recordError(reason);
        res.resume();
        socket.terminate();
      });
      socket.on('error', (err) => {
        if (signal.aborted || refused) return;
        if ((err as NodeJS.ErrnoException).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
          oversized = true;
          const reason = `a frame over ${maxPayload} bytes (WEBHOOK_BODY_LIMIT) was refused; the stream reconnects`;
          this.recordError(reason);
          this.track(this.rejectFrame('', reason, this.clock.now()));
          return;
        }
        this.recordError(`stream error: ${err.message}`);
      });
      socket.on('close', (code, reason) => {
        if (opened && !signal.aborted && !oversized) {
          this.recordError(`stream closed (code ${code}${reason.length ? `: ${reason.toString()}` : ''})`);
        }
        finish();
      });
    });
  }

  /** Returns true for a data frame handed to the inbox (acknowledgements and junk do not count). */
  private onFrame(socket: WebSocket, raw: string): boolean {
    const receivedAt = this.clock.now();
    const frame = parseFrame(raw);
    if ('problem' in frame || !isControlMessage(frame.payload)) {
      this.update({ framesReceived: this.current.framesReceived + 1, lastFrameAt: new Date(receivedAt).toISOString() });
    }
    if ('problem' in frame) {
      this.track(this.rejectFrame(raw, frame.problem, receivedAt));
      return false;
    }
    if (isControlMessage(frame.payload)) {
      this.onControl(frame.channel, frame.payload);
      return false;
    }
    this.markJoined(frame.channel);
    this.track(this.deliver({ ...frame, raw, receivedAt }));
    if (!this.paused && this.inFlight.size >= this.maxInFlight) {
      this.paused = true;
      socket.pause();
      this.logger.warn('Unusual Whales stream paused: inbox is behind', { inFlight: this.inFlight.size });
    }
    return true;
  }

  /** Join acknowledgements (`[channel, {"response":…, "status":"ok"}]`) are protocol, not data. */
  private onControl(channel: string, payload: { status: unknown; response?: unknown }): void {
    if (payload.status === 'ok') {
      this.logger.debug('Unusual Whales channel joined', { channel });
      this.markJoined(channel);
      return;
    }
    this.recordError(`channel ${channel}: ${JSON.stringify(payload.response ?? payload.status)}`);
    this.update({ joinedChannels: this.current.joinedChannels.filter((c) => c !== channel) }, true);
  }

  private markJoined(channel: string): void {
    if (!this.config.channels.includes(channel) || this.current.joinedChannels.includes(channel)) return;
    this.update({ joinedChannels: [...this.current.joinedChannels, channel] }, true);
  }

  private async deliver(frame: UwStreamFrame): Promise<void> {
    try {
      const answer = await retry(() => this.sink.ingest(frame), {
        attempts: 5,
        baseMs: 200,
        maxMs: 5_000,
        clock: this.clock,
        shouldRetry: (err) => !isRefusal(err),
        onRetry: (err, attempt, delayMs) =>
          this.logger.warn('inbox unavailable for a stream frame; retrying', { error: errorMessage(err), attempt, delayMs }),
      });
      const { outcome, reason } = typeof answer === 'string' ? { outcome: answer, reason: undefined } : answer;
      if (outcome === 'accepted') this.update({ framesAccepted: this.current.framesAccepted + 1 });
      else if (outcome === 'duplicate') this.update({ framesDuplicate: this.current.framesDuplicate + 1 });
      else this.countRejected(frame.channel, reason ?? 'refused by the inbox');
    } catch (err) {
      if (isRefusal(err)) {
        this.countRejected(frame.channel, errorMessage(err));
      } else {
        // The inbox stayed unavailable: the frame is lost to us, so say so loudly.
        this.recordError(`could not store a ${frame.channel} frame: ${errorMessage(err)}`);
        this.logger.error('stream frame not stored', { channel: frame.channel, raw: frame.raw.slice(0, 2_000) });
      }
    }
  }

  private async rejectFrame(raw: string, reason: string, receivedAt: number): Promise<void> {
    this.countRejected(null, reason, raw);
    try {
      await this.sink.reject?.(raw, reason, receivedAt);
    } catch (err) {
      this.logger.error('could not record a rejected stream frame', { error: errorMessage(err) });
    }
  }

  private countRejected(channel: string | null, reason: string, raw?: string): void {
    this.update({ framesRejected: this.current.framesRejected + 1 });
    this.logger.warn('Unusual Whales frame rejected', { channel, reason, ...(raw ? { raw: raw.slice(0, 500) } : {}) });
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => {
      this.inFlight.delete(work);
      if (this.paused && this.inFlight.size <= this.maxInFlight / 2) {
        this.paused = false;
        this.socket?.resume();
        this.logger.info('Unusual Whales stream resumed', { inFlight: this.inFlight.size });
      }
    });
  }

  private recordError(message: string): void {
    this.logger.warn('Unusual Whales stream problem', { error: message });
    this.update({ lastError: message, lastErrorAt: new Date(this.clock.now()).toISOString() }, true);
  }

  /** State changes are announced at once; counters at most once a second (plus a trailing update). */
  private update(patch: Partial<UwStreamStatus>, immediate = false): void {
    this.current = { ...this.current, ...patch };
    if (!this.onStatus) return;
    const now = Date.now();
    if (immediate || now - this.lastStatusEmit >= STATUS_THROTTLE_MS) {
      this.emitStatus();
      return;
    }
    this.statusTimer ??= setTimeout(() => this.emitStatus(), STATUS_THROTTLE_MS - (now - this.lastStatusEmit));
  }

  private emitStatus(): void {
    if (!this.onStatus) return;
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = null;
    this.lastStatusEmit = Date.now();
    try {
      this.onStatus(this.status());
    } catch (err) {
      this.logger.error('stream status listener failed', { error: errorMessage(err) });
    }
  }
}

/** `[channel, payload]` with a non-empty string channel, or the reason it is not. */
export function parseFrame(raw: string): { channel: string; payload: unknown } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return { problem: `frame is not JSON (${errorMessage(err)})` };
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) return { problem: 'expected a [channel, payload] array' };
  const [channel, payload] = parsed as [unknown, unknown];
  if (typeof channel !== 'string' || channel.trim() === '') return { problem: 'frame channel must be a non-empty string' };
  if (payload === null || typeof payload !== 'object') return { problem: `payload of ${channel} must be a JSON object or array` };
  return { channel, payload };
}

function isControlMessage(payload: unknown): payload is { status: unknown; response?: unknown } {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return false;
  const keys = Object.keys(payload);
  return keys.includes('status') && keys.every((k) => k === 'status' || k === 'response');
}

function isRefusal(err: unknown): boolean {
  return err instanceof AppError && err.status >= 400 && err.status < 500;
}

function rawText(data: RawData, _isBinary: boolean): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function dedupe(channels: string[]): string[] {
  return [...new Set(channels.map((c) => c.trim()).filter((c) => c.length > 0))];
}

function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    clock.sleep(ms, signal).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      () => resolve(),
    );
  });
}
