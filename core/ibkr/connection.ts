/**
 * IbkrConnection: one API session with TWS / IB Gateway over @stoqey/ib.
 *
 * Why `IBApi` (events) and not `IBApiNext` (RxJS): we need to own the lifecycle of every request.
 * IBApiNext keeps a request pending forever when the socket drops and silently re-sends open requests
 * with the same id after its own reconnect — which would bypass our PacingLimiter and double-count
 * requests. With IBApi we keep a table of requests in flight, give each our own timeout, reject all of
 * them the moment the socket drops, and run our own reconnect loop (capped exponential backoff from
 * core/platform). A fresh IBApi instance is made per connection attempt so no state leaks between them.
 *
 * Status: state (disconnected / connecting / connected), server version, accounts, connectivity-lost flag
 * (1100 → lost; 1101/1102 → restored; they arrive as `info`), last notice and last error with its IBKR code.
 */
import { type Contract, EventName, IBApi, SecType } from '@stoqey/ib';
import { type BackoffPolicy, backoffDelay, type Clock, errorMessage, type Logger, silentLogger, systemClock } from '../platform';
import { IBKR_ERROR_CODES as C, ibkrErrorFor, isWarningCode } from './errors';
import { type BarSize, IbkrError, type WhatToShow } from './types';

export type IbkrState = 'disconnected' | 'connecting' | 'connected';

export interface IbkrNotice {
  code: number | null;
  message: string;
  /** ISO time. */
  at: string;
}

export interface IbkrStatus {
  state: IbkrState;
  /** Connected and past the handshake: requests can be sent. */
  connected: boolean;
  /** 'demo' when pointed at the built-in simulator. */
  mode: 'live' | 'demo';
  /** True while DEBUG_MODE keeps the connection closed on purpose (offline replay). */
  offline: boolean;
  host: string;
  port: number;
  /** Client id of the current (or last) session; may be above the configured one after error 326. */
  clientId: number;
  configuredClientId: number;
  serverVersion: number | null;
  connectionTime: string | null;
  accounts: string[];
  /** IBKR reported 1100 (connectivity between TWS and IB lost) and no 1101/1102 since. */
  connectivityLost: boolean;
  lastNotice: IbkrNotice | null;
  lastError: IbkrNotice | null;
  connectedAt: string | null;
  /** Consecutive failed attempts since the last successful connection. */
  reconnectAttempt: number;
  nextRetryAt: string | null;
}

export interface ResolvedContract {
  conId: number;
  symbol: string;
  secType: 'STK';
  exchange: 'SMART';
  primaryExch: string;
  currency: string;
  longName: string;
  timeZoneId: string;
}

/** A bar as IBKR sent it (time is `yyyyMMdd` or epoch seconds). */
export interface IbBar {
  time: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  wap: number;
  count: number;
}

export interface HistoricalQuery {
  endDateTime: string;
  durationStr: string;
  barSize: BarSize;
  whatToShow: WhatToShow;
  useRTH: boolean;
}

export interface IbkrConnectionOptions {
  host: string;
  port: number;
  clientId: number;
  mode?: 'live' | 'demo';
  logger?: Logger;
  clock?: Clock;
  /** Until NEXT_VALID_ID after the socket opens (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Default timeout of every request (default 60 s: TWS can be slow outside trading hours). */
  requestTimeoutMs?: number;
  /** Reconnect backoff, or false to never reconnect (default 1 s doubling to 30 s, 20 % jitter). */
  reconnect?: BackoffPolicy | false;
  /** How many client ids to try when one is in use (326): configured, +1, +2 … (default 5). */
  clientIdAttempts?: number;
}

interface Session {
  api: IBApi;
  clientId: number;
  ready: boolean;
  /** Rejects the connection attempt while the handshake is still under way. */
  abort?: (err: IbkrError) => void;
}

interface Pending {
  kind: 'historical' | 'contract';
  session: Session;
  label: string;
  symbol?: string;
  exchange?: string;
  bars: IbBar[];
  details: unknown[];
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
}

export type StatusListener = (status: IbkrStatus) => void;

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 };

export class IbkrConnection {
  private options: IbkrConnectionOptions;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private session: Session | null = null;
  private current: IbkrStatus;
  private readonly listeners = new Set<StatusListener>();
  private readonly pending = new Map<number, Pending>();
  private readonly timeWaiters = new Set<(time: number) => void>();
  private readonly contracts = new Map<string, Promise<ResolvedContract>>();
  private nextReqId = 1_000;
  private wanted = false;
  private looping = false;
  private retrySleep: AbortController | null = null;
  private restartRequested = false;

  constructor(options: IbkrConnectionOptions) {
    this.options = options;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'ibkr' });
    this.clock = options.clock ?? systemClock;
    this.current = {
      state: 'disconnected',
      connected: false,
      mode: options.mode ?? 'live',
      offline: false,
      host: options.host,
      port: options.port,
      clientId: options.clientId,
      configuredClientId: options.clientId,
      serverVersion: null,
      connectionTime: null,
      accounts: [],
      connectivityLost: false,
      lastNotice: null,
      lastError: null,
      connectedAt: null,
      reconnectAttempt: 0,
      nextRetryAt: null,
    };
  }

  // ── status ──────────────────────────────────────────────────────────────────────────────────

  status(): IbkrStatus {
    return { ...this.current, connected: this.connected, accounts: [...this.current.accounts] };
  }

  get connected(): boolean {
    return this.current.state === 'connected' && this.session?.ready === true;
  }

  /** Called on every status change; returns an unsubscribe function. */
  onStatus(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private setStatus(patch: Partial<IbkrStatus>): void {
    this.current = { ...this.current, ...patch };
    const snapshot = this.status();
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (err) {
        this.logger.warn('status listener failed', { error: err as Error });
      }
    }
  }

  private recordError(code: number | null, message: string): void {
    this.setStatus({ lastError: { code, message, at: new Date(this.clock.now()).toISOString() } });
  }

  /** Resolves once the state is no longer `connecting` (connected, or the attempt failed), or after `timeoutMs`. */
  private attemptSettled(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const off = this.onStatus((s) => {
        if (s.state !== 'connecting') done();
      });
      if (this.current.state !== 'connecting') done();
    });
  }

  /** Resolves when connected; rejects after `timeoutMs`, or when `signal` aborts. */
  waitForConnected(timeoutMs = 10_000, signal?: AbortSignal): Promise<IbkrStatus> {
    if (this.connected) return Promise.resolve(this.status());
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const done = (err: IbkrError | null, status?: IbkrStatus) => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(status as IbkrStatus);
      };
      const timer = setTimeout(
        () => done(this.notConnectedError(`still ${this.current.state} after ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      );
      const onAbort = () => done(abortError(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      const off = this.onStatus((s) => {
        if (s.state === 'connected' && this.connected) done(null, s);
      });
    });
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────────────────────

  /** Starts connecting in the background and keeps reconnecting; never throws. */
  start(): void {
    if (this.wanted && (this.looping || this.session)) return;
    this.wanted = true;
    // A loop still unwinding from stop() must retry at once rather than back off.
    this.restartRequested = this.looping;
    this.setStatus({ offline: false });
    void this.loop();
  }

  /** Keeps the connection closed on purpose (DEBUG_MODE offline replay). */
  async goOffline(): Promise<void> {
    await this.stop('offline: DEBUG_MODE replays from the cache only');
    this.setStatus({ offline: true });
  }

  /** Closes the session, stops reconnecting, and rejects every request in flight. */
  async stop(reason = 'connection closed'): Promise<void> {
    this.wanted = false;
    this.retrySleep?.abort();
    const session = this.session;
    this.session = null;
    if (session) this.closeSession(session);
    this.failAll(new IbkrError(C.NOT_CONNECTED, `IBKR request abandoned: ${reason}`, 504));
    this.setStatus({ state: 'disconnected', nextRetryAt: null, serverVersion: null, connectedAt: null });
  }

  /** Drops the current session (if any) and connects again now, with a fresh backoff. */
  reconnect(): void {
    const session = this.session;
    this.session = null;
    if (session) this.closeSession(session);
    this.failAll(new IbkrError(C.DISCONNECTED, 'IBKR request abandoned: reconnecting on request', 504));
    this.setStatus({ state: 'disconnected', reconnectAttempt: 0 });
    this.wanted = true;
    this.restartRequested = this.looping;
    this.retrySleep?.abort();
    if (!this.looping) void this.loop();
  }

  /** Points the connection somewhere else (settings change, demo simulator); reconnects if running. */
  setTarget(target: { host?: string; port?: number; clientId?: number; mode?: 'live' | 'demo' }): void {
    this.options = { ...this.options, ...target };
    this.contracts.clear();
    this.setStatus({
      host: this.options.host,
      port: this.options.port,
      configuredClientId: this.options.clientId,
      clientId: this.options.clientId,
      mode: this.options.mode ?? 'live',
    });
    if (this.wanted) this.reconnect();
  }

  private async loop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      let failures = 0;
      while (this.wanted && !this.session) {
        this.setStatus({ state: 'connecting', nextRetryAt: null, reconnectAttempt: failures });
        try {
          await this.attempt();
          // Connected; loop again only if the session was dropped (or reconnect() called) meanwhile.
          this.restartRequested = false;
          failures = 0;
        } catch (err) {
          if (this.restartRequested && this.wanted) {
            this.restartRequested = false;
            failures = 0;
            continue;
          }
          if (!this.wanted) break; // stop() / goOffline() cancelled the attempt
          failures++;
          const code = err instanceof IbkrError ? err.ibkrCode : null;
          this.recordError(code, errorMessage(err));
          if (this.options.reconnect === false) {
            this.setStatus({ state: 'disconnected', reconnectAttempt: failures });
            break;
          }
          const delay = backoffDelay(failures, this.options.reconnect ?? DEFAULT_BACKOFF);
          this.logger.warn('IBKR connection attempt failed', { error: errorMessage(err), ibkrCode: code, retryInMs: delay });
          this.setStatus({
            state: 'disconnected',
            reconnectAttempt: failures,
            nextRetryAt: new Date(this.clock.now() + delay).toISOString(),
          });
          this.retrySleep = new AbortController();
          try {
            await this.clock.sleep(delay, this.retrySleep.signal);
          } catch {
            // reconnect() or stop() cut the wait short
            failures = 0;
            this.restartRequested = false;
          }
          this.retrySleep = null;
        }
      }
    } finally {
      this.looping = false;
    }
  }

  private async attempt(): Promise<void> {
    const attempts = Math.max(1, this.options.clientIdAttempts ?? 5);
    for (let k = 0; k < attempts; k++) {
      const clientId = this.options.clientId + k;
      try {
        await this.tryConnect(clientId);
        return;
      } catch (err) {
        if (err instanceof IbkrError && err.ibkrCode === 326 && k < attempts - 1 && this.wanted) {
          this.logger.warn('IBKR client id in use, trying the next one', { clientId, next: clientId + 1 });
          this.recordError(326, `Client id ${clientId} is already in use; trying ${clientId + 1}`);
          continue;
        }
        if (err instanceof IbkrError && err.ibkrCode === 326 && attempts > 1) {
          const first = this.options.clientId;
          throw new IbkrError(
            C.CLIENT_ID_IN_USE,
            `Client ids ${first}–${clientId} are all in use at ${this.options.host}:${this.options.port}: ` +
              'close the other API sessions (or restart the gateway, which frees ids a crashed program kept), or set IB_CLIENT_ID to a free one',
            326,
            { cause: err },
          );
        }
        throw err;
      }
    }
  }

  private tryConnect(clientId: number): Promise<void> {
    const { host, port } = this.options;
    const where = `${host}:${port}`;
    return new Promise<void>((resolve, reject) => {
      const api = new IBApi({ host, port, clientId });
      const session: Session = { api, clientId, ready: false };
      this.session = session;
      this.setStatus({ clientId });
      let settled = false;
      const fail = (err: IbkrError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.session === session) this.session = null;
        this.closeSession(session);
        reject(err);
      };
      session.abort = fail;
      const timeoutMs = this.options.handshakeTimeoutMs ?? 10_000;
      const timer = setTimeout(
        () =>
          fail(
            new IbkrError(
              C.HANDSHAKE_TIMEOUT,
              `IB Gateway at ${where} accepted the connection but did not finish the API handshake (no NEXT_VALID_ID) within ${Math.round(timeoutMs / 100) / 10} s; is it logged in with the API enabled?`,
              null,
            ),
          ),
        timeoutMs,
      );

      api.on(EventName.server, (version: number, time: string) => {
        this.setStatus({ serverVersion: version, connectionTime: time });
      });
      api.on(EventName.managedAccounts, (list: string) => {
        this.setStatus({
          accounts: list
            .split(',')
            .map((a) => a.trim())
            .filter(Boolean),
        });
      });
      api.on(EventName.nextValidId, () => {
        if (settled || this.session !== session) return;
        settled = true;
        clearTimeout(timer);
        session.ready = true;
        session.abort = undefined;
        this.logger.info('IBKR connected', { host, port, clientId, serverVersion: api.serverVersion });
        this.setStatus({
          state: 'connected',
          serverVersion: api.serverVersion,
          connectedAt: new Date(this.clock.now()).toISOString(),
          reconnectAttempt: 0,
          nextRetryAt: null,
          connectivityLost: false,
        });
        resolve();
      });
      api.on(EventName.disconnected, () => {
        if (!settled) {
          fail(new IbkrError(C.CONNECT_FAILED, `IB Gateway at ${where} closed the connection during the API handshake`, 502));
          return;
        }
        this.onSessionLost(session);
      });
      api.on(EventName.error, (error: Error, code: number, reqId: number) => {
        const text = error?.message ?? String(error);
        if (reqId !== undefined && reqId !== -1 && this.pending.has(reqId)) {
          this.onRequestError(reqId, code, text);
          return;
        }
        if (code === 502 || code === 504) {
          if (!settled) {
            fail(
              new IbkrError(
                C.CONNECT_FAILED,
                `Cannot reach IB Gateway / TWS at ${where} (${text}); is it running with the API enabled on that port?`,
                502,
              ),
            );
          }
          return;
        }
        if (code === 326 && !settled) {
          fail(ibkrErrorFor(326, text));
          return;
        }
        this.logger.warn('IBKR error', { code, reqId, message: text });
        if (!isWarningCode(code)) this.recordError(code, text);
      });
      api.on(EventName.info, (message: string, code: number) => {
        if (code === 326 && !settled) {
          fail(ibkrErrorFor(326, message));
          return;
        }
        this.onInfo(message, code);
      });
      api.on(
        EventName.historicalData,
        (
          reqId: number,
          time: string,
          open: number,
          high: number,
          low: number,
          close: number,
          volume: number,
          count: number | undefined,
          wap: number,
        ) => {
          const p = this.pending.get(reqId);
          if (p?.kind !== 'historical') return;
          if (typeof time === 'string' && time.startsWith('finished')) {
            this.settle(reqId, p.bars);
            return;
          }
          p.bars.push({ time: String(time), open, high, low, close, volume: volume ?? -1, wap: wap ?? -1, count: count ?? -1 });
        },
      );
      api.on(EventName.contractDetails, (reqId: number, details: unknown) => {
        this.pending.get(reqId)?.details.push(details);
      });
      api.on(EventName.contractDetailsEnd, (reqId: number) => {
        const p = this.pending.get(reqId);
        if (p && p.kind === 'contract') this.settle(reqId, p.details);
      });
      api.on(EventName.currentTime, (time: number) => {
        const waiters = [...this.timeWaiters];
        this.timeWaiters.clear();
        for (const w of waiters) w(time);
      });

      api.connect(clientId);
    });
  }

  private onInfo(message: string, code: number): void {
    const at = new Date(this.clock.now()).toISOString();
    if (code === 1100) {
      this.logger.warn('IBKR connectivity lost (1100)', { message });
      this.setStatus({ connectivityLost: true, lastNotice: { code, message, at } });
    } else if (code === 1101 || code === 1102) {
      this.logger.info(`IBKR connectivity restored (${code})`, { message, dataLost: code === 1101 });
      this.setStatus({ connectivityLost: false, lastNotice: { code, message, at } });
    } else if (code === 2103 || code === 2105 || code === 2157 || code === 2110) {
      this.logger.warn('IBKR farm notice', { code, message });
      this.setStatus({ lastNotice: { code, message, at } });
    } else {
      this.logger.debug('IBKR info', { code, message });
    }
  }

  private onSessionLost(session: Session): void {
    if (this.session !== session) return;
    this.session = null;
    this.closeSession(session);
    const where = `${this.options.host}:${this.options.port}`;
    const message = `Connection to IB Gateway at ${where} was lost`;
    this.logger.warn('IBKR connection lost', { host: this.options.host, port: this.options.port });
    this.failAll(new IbkrError(C.DISCONNECTED, `${message} while the request was in flight`, 504));
    this.setStatus({ state: 'disconnected', connectedAt: null });
    this.recordError(null, message);
    if (this.wanted) void this.loop();
  }

  private closeSession(session: Session): void {
    session.ready = false;
    const abort = session.abort;
    session.abort = undefined;
    abort?.(new IbkrError(C.NOT_CONNECTED, 'IBKR connection attempt cancelled', 504));
    session.api.removeAllListeners();
    session.api.on(EventName.error, () => {});
    try {
      session.api.disconnect();
    } catch {
      // already closed
    }
  }

  // ── requests ────────────────────────────────────────────────────────────────────────────────

  private notConnectedError(detail?: string): IbkrError {
    if (this.current.offline) {
      return new IbkrError(C.OFFLINE, 'DEBUG_MODE is on: replaying from the cache only, IBKR is not contacted', null);
    }
    const where = `${this.options.host}:${this.options.port}`;
    const last = this.current.lastError ? `; last error: ${this.current.lastError.message}` : '';
    return new IbkrError(C.NOT_CONNECTED, `Not connected to IB Gateway at ${where}${detail ? ` (${detail})` : ''}${last}`, 504);
  }

  /**
   * The ready session, waiting while a connection attempt is under way. While backing off between attempts,
   * a request cuts the wait short and waits for that attempt: the gateway may well be back, and the last
   * attempt's error ("connection refused" from half a minute ago) is no answer for a trader clicking Refresh.
   */
  private async readySession(timeoutMs: number, signal?: AbortSignal): Promise<Session> {
    if (this.connected && this.session) return this.session;
    if (this.wanted && this.retrySleep && this.current.state === 'disconnected') {
      this.retrySleep.abort();
      // The loop starts the attempt once the aborted sleep has unwound.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.connected && this.session) return this.session;
    if (this.current.state !== 'connecting' || !this.wanted) throw this.notConnectedError();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => done(this.notConnectedError(`still connecting after ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      );
      const onAbort = () => done(abortError(signal));
      signal?.addEventListener('abort', onAbort, { once: true });
      const off = this.onStatus((s) => {
        if (s.state === 'connected') done();
        else if (s.state === 'disconnected') done(this.notConnectedError());
      });
      const done = (err?: unknown) => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
    });
    if (this.connected && this.session) return this.session;
    throw this.notConnectedError();
  }

  private settle(reqId: number, value: unknown): void {
    const p = this.pending.get(reqId);
    if (!p) return;
    this.pending.delete(reqId);
    p.cleanup();
    p.resolve(value);
  }

  private onRequestError(reqId: number, code: number, text: string): void {
    const p = this.pending.get(reqId);
    if (!p) return;
    if (isWarningCode(code)) {
      this.logger.debug('IBKR warning for request', { reqId, code, message: text });
      return;
    }
    this.pending.delete(reqId);
    p.cleanup();
    if (p.kind === 'contract' && code === 200) {
      p.resolve([]); // "no security definition": resolveContract names the symbol
      return;
    }
    p.reject(ibkrErrorFor(code, text, { symbol: p.symbol, exchange: p.exchange, what: p.label }));
  }

  private failAll(err: IbkrError): void {
    for (const [reqId, p] of [...this.pending]) {
      this.pending.delete(reqId);
      p.cleanup();
      p.reject(err);
    }
  }

  private async request<T>(
    kind: Pending['kind'],
    label: string,
    context: { symbol?: string; exchange?: string },
    opts: { timeoutMs?: number; signal?: AbortSignal },
    send: (api: IBApi, reqId: number) => void,
    cancel?: (api: IBApi, reqId: number) => void,
  ): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.options.requestTimeoutMs ?? 60_000;
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const session = await this.readySession(timeoutMs, opts.signal);
    const reqId = this.nextReqId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(reqId)) return;
        cleanup();
        if (session.ready) cancel?.(session.api, reqId);
        reject(
          new IbkrError(C.TIMEOUT, `${label}: no answer from IB Gateway within ${Math.round(timeoutMs / 100) / 10} s`, null),
        );
      }, timeoutMs);
      const onAbort = () => {
        if (!this.pending.delete(reqId)) return;
        cleanup();
        if (session.ready) cancel?.(session.api, reqId);
        reject(abortError(opts.signal));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(reqId, {
        kind,
        session,
        label,
        symbol: context.symbol,
        exchange: context.exchange,
        bars: [],
        details: [],
        resolve: resolve as (v: unknown) => void,
        reject,
        cleanup,
      });
      try {
        send(session.api, reqId);
      } catch (err) {
        this.pending.delete(reqId);
        cleanup();
        reject(err);
      }
    });
  }

  /** Round trip to the gateway (current time) for the pipeline's pre-flight. Never throws. */
  async health(
    timeoutMs = 5_000,
  ): Promise<{ ok: boolean; state: IbkrState; message: string; latencyMs?: number; serverTime?: number }> {
    // An attempt under way (a CLI run starts right after opening the connection): its outcome is the answer.
    if (!this.connected && this.current.state === 'connecting') await this.attemptSettled(timeoutMs);
    if (!this.connected || !this.session) {
      return { ok: false, state: this.current.state, message: this.notConnectedError().message };
    }
    const session = this.session;
    const started = Date.now();
    try {
      const serverTime = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.timeWaiters.delete(waiter);
          reject(new IbkrError(C.TIMEOUT, `IB Gateway did not answer a current-time request within ${timeoutMs / 1000} s`, null));
        }, timeoutMs);
        const waiter = (t: number) => {
          clearTimeout(timer);
          resolve(t);
        };
        this.timeWaiters.add(waiter);
        session.api.reqCurrentTime();
      });
      if (this.current.connectivityLost) {
        return {
          ok: false,
          state: this.current.state,
          message: 'Connected to the gateway, but IBKR reports connectivity lost (1100)',
          serverTime,
        };
      }
      const latencyMs = Date.now() - started;
      return {
        ok: true,
        state: 'connected',
        message: `Connected (server version ${this.current.serverVersion}, ${latencyMs} ms)`,
        latencyMs,
        serverTime,
      };
    } catch (err) {
      return { ok: false, state: this.current.state, message: errorMessage(err) };
    }
  }

  /**
   * A stock on SMART routing with `exchange` as primary exchange. Cached per connection (conIds are
   * stable); an unknown symbol rejects with IbkrError IBKR_UNKNOWN_SYMBOL (IBKR 200) naming it.
   */
  resolveContract(
    symbol: string,
    exchange: string,
    currency = 'USD',
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<ResolvedContract> {
    const sym = symbol.trim().toUpperCase();
    const exch = exchange.trim().toUpperCase();
    const key = `${sym}|${exch}|${currency}`;
    const cached = this.contracts.get(key);
    if (cached) return cached;
    const promise = this.request<{ contract: Contract; longName?: string; timeZoneId?: string }[]>(
      'contract',
      `contract details for ${sym}`,
      { symbol: sym, exchange: exch },
      opts,
      (api, reqId) =>
        api.reqContractDetails(reqId, { symbol: sym, secType: SecType.STK, exchange: 'SMART', primaryExch: exch, currency }),
    ).then((list) => {
      if (list.length === 0)
        throw ibkrErrorFor(200, 'No security definition has been found for the request', { symbol: sym, exchange: exch });
      const best = list.find((d) => d.contract.primaryExch === exch) ?? list[0];
      return {
        conId: best.contract.conId ?? 0,
        symbol: best.contract.symbol ?? sym,
        secType: 'STK' as const,
        exchange: 'SMART' as const,
        primaryExch: best.contract.primaryExch ?? exch,
        currency: best.contract.currency ?? currency,
        longName: best.longName ?? '',
        timeZoneId: best.timeZoneId ?? '',
      };
    });
    this.contracts.set(key, promise);
    promise.catch(() => this.contracts.delete(key));
    return promise;
  }

  /** One historical-data request exactly as given (no splitting, no pacing: see IbkrHistoricalSource). */
  historicalBars(
    contract: ResolvedContract,
    query: HistoricalQuery,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<IbBar[]> {
    const ibContract: Contract = {
      conId: contract.conId,
      symbol: contract.symbol,
      secType: SecType.STK,
      exchange: contract.exchange,
      primaryExch: contract.primaryExch,
      currency: contract.currency,
    };
    const formatDate = 2; // intraday times as epoch seconds; daily bars come as yyyyMMdd regardless
    return this.request<IbBar[]>(
      'historical',
      `historical bars ${contract.symbol} ${query.barSize} ${query.durationStr} ending ${query.endDateTime}`,
      { symbol: contract.symbol, exchange: contract.primaryExch },
      opts,
      (api, reqId) =>
        api.reqHistoricalData(
          reqId,
          ibContract,
          query.endDateTime,
          query.durationStr,
          query.barSize as never,
          query.whatToShow as never,
          query.useRTH ? 1 : 0,
          formatDate,
          false,
        ),
      (api, reqId) => api.cancelHistoricalData(reqId),
    );
  }

  /** Requests in flight right now (for tests and status). */
  get inFlight(): number {
    return this.pending.size;
  }
}

function abortError(signal?: AbortSignal): IbkrError {
  const reason = signal?.reason;
  if (reason instanceof IbkrError) return reason;
  return new IbkrError(C.ABORTED, `IBKR request aborted${reason ? `: ${errorMessage(reason)}` : ''}`, null, { cause: reason });
}
