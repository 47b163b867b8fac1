/**
 * The bridge side of the core host: one child process at a time, calls matched to results by id,
 * events fanned out, a graceful stop that waits for `stopped`, and a restart (with a notice) when
 * the child dies unexpectedly. The desktop main process and the Node tests use the same class;
 * only `spawn` differs (Electron utilityProcess vs child_process.fork).
 */
import type { CallResult } from '../api/define';
import type { FromHost, ToHost } from '../api/port-protocol';
import { type BackoffPolicy, backoffDelay, type Clock, systemClock } from '../platform';

export interface HostChild {
  send(message: ToHost): void;
  onMessage(handler: (message: FromHost) => void): void;
  onExit(handler: (code: number | null) => void): void;
  kill(): void;
}

export type HostState = 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'stopping' | 'stopped';

export interface HostReady {
  dataDir: string;
  pid: number;
}

export class HostFatalError extends Error {
  readonly code: string;
  readonly exitCode: number | null;

  constructor(code: string, message: string, exitCode: number | null) {
    super(message);
    this.name = 'HostFatalError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

export interface HostClientOptions {
  spawn(): HostChild;
  /** At most `max` unexpected exits within `windowMs` are restarted; then the host stays down. */
  restarts?: { max: number; windowMs: number; backoff: BackoffPolicy };
  /** How long `stop()` waits for `stopped` and the exit before killing the child. */
  stopTimeoutMs?: number;
  clock?: Clock;
}

type Listener = (event: string, payload: unknown) => void;

const DEFAULT_RESTARTS = { max: 5, windowMs: 60_000, backoff: { baseMs: 250, maxMs: 5_000, jitter: 0.2 } };

export class HostClient {
  private child: HostChild | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, (result: CallResult) => void>();
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<(state: HostState) => void>();
  private readonly crashes: number[] = [];
  private readonly options: Required<Omit<HostClientOptions, 'spawn'>> & Pick<HostClientOptions, 'spawn'>;
  private stopping: Promise<void> | null = null;
  private readyWaiters: { resolve(r: HostReady): void; reject(e: Error): void }[] = [];
  private exitWaiters: (() => void)[] = [];
  private current: HostState = 'idle';
  /** Why the host is down, when it is. */
  lastFatal: HostFatalError | null = null;
  info: HostReady | null = null;

  constructor(options: HostClientOptions) {
    this.options = {
      restarts: DEFAULT_RESTARTS,
      stopTimeoutMs: 15_000,
      clock: systemClock,
      ...options,
    };
  }

  get state(): HostState {
    return this.current;
  }

  /** Starts the host; resolves when it is ready, rejects with HostFatalError if it cannot start. */
  start(): Promise<HostReady> {
    this.stopping = null;
    this.lastFatal = null;
    const ready = this.whenReady();
    this.spawnChild('starting');
    return ready;
  }

  async call(method: string, input: unknown): Promise<CallResult> {
    const child = this.child;
    if (!child || this.current === 'stopping') {
      const why = this.lastFatal ? this.lastFatal.message : `the core is ${this.current}`;
      return { ok: false, error: { code: 'host_unavailable', status: 503, message: `Marketdesk core unavailable: ${why}` } };
    }
    const id = this.nextId++;
    return new Promise<CallResult>((resolve) => {
      this.pending.set(id, resolve);
      child.send({ kind: 'call', id, method, input });
    });
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: (state: HostState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Asks the host to stop (stores checkpoint and close), waits for `stopped` and the exit; kills after a timeout. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const child = this.child;
      this.setState('stopping');
      if (child) {
        const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
        child.send({ kind: 'stop' });
        const timer = new AbortController();
        const timedOut = this.options.clock.sleep(this.options.stopTimeoutMs, timer.signal).then(
          () => true,
          () => false,
        );
        const killed = await Promise.race([exited.then(() => false), timedOut]);
        timer.abort();
        if (killed) {
          child.kill();
          await exited;
        }
      }
      this.setState('stopped');
    })();
    return this.stopping;
  }

  /** A clean stop followed by a fresh start (e.g. after secrets changed: they reach the host through its environment). */
  async restart(): Promise<HostReady> {
    await this.stop();
    return this.start();
  }

  private whenReady(): Promise<HostReady> {
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private spawnChild(state: 'starting' | 'restarting'): void {
    this.setState(state);
    const child = this.options.spawn();
    this.child = child;
    let fatal: HostFatalError | null = null;
    child.onMessage((msg) => {
      switch (msg.kind) {
        case 'ready':
          this.info = { dataDir: msg.dataDir, pid: msg.pid };
          this.setState('ready');
          for (const w of this.readyWaiters.splice(0)) w.resolve(this.info);
          break;
        case 'result':
          this.pending.get(msg.id)?.(msg.result);
          this.pending.delete(msg.id);
          break;
        case 'event':
          this.emit(msg.name, msg.payload);
          break;
        case 'fatal':
          fatal = new HostFatalError(msg.code, msg.message, null);
          break;
        case 'stopped':
          break;
      }
    });
    child.onExit((code) => this.onChildExit(child, code, fatal));
  }

  private onChildExit(child: HostChild, code: number | null, fatal: HostFatalError | null): void {
    if (this.child !== child) return;
    this.child = null;
    for (const resolve of this.pending.values()) {
      resolve({
        ok: false,
        error: { code: 'host_exited', status: 503, message: 'The Marketdesk core stopped before answering; try again' },
      });
    }
    this.pending.clear();
    for (const w of this.exitWaiters.splice(0)) w();
    if (this.stopping) return;

    const wasReady = this.current === 'ready';
    if (fatal || !wasReady) {
      // It never came up (bad config, locked store): restarting would fail the same way.
      this.lastFatal = fatal
        ? new HostFatalError(fatal.code, fatal.message, code)
        : new HostFatalError('HOST_EXITED', `The core exited with code ${code} before it was ready`, code);
      this.setState('failed');
      for (const w of this.readyWaiters.splice(0)) w.reject(this.lastFatal);
      if (wasReady) this.notice('error', 'Marketdesk core stopped', this.lastFatal.message);
      return;
    }

    const now = this.options.clock.now();
    const { max, windowMs, backoff } = this.options.restarts;
    this.crashes.push(now);
    while (this.crashes.length > 0 && this.crashes[0] < now - windowMs) this.crashes.shift();
    if (this.crashes.length > max) {
      this.lastFatal = new HostFatalError('HOST_CRASHING', `The core exited ${this.crashes.length} times within a minute`, code);
      this.setState('failed');
      this.notice(
        'error',
        'Marketdesk core keeps crashing',
        `${this.lastFatal.message}; see the logs folder. Restart the app to try again.`,
      );
      return;
    }
    this.notice('warn', 'Marketdesk core restarted', `The core process exited unexpectedly (code ${code}); it was restarted.`);
    this.setState('restarting');
    const delay = backoffDelay(this.crashes.length, backoff);
    void this.options.clock.sleep(delay).then(() => {
      if (!this.stopping && this.current === 'restarting') this.spawnChild('restarting');
    });
  }

  private notice(level: 'info' | 'warn' | 'error', title: string, message: string): void {
    this.emit('system.notice', { level, title, message });
  }

  private emit(event: string, payload: unknown): void {
    for (const l of this.listeners) {
      try {
        l(event, payload);
      } catch {
        // One broken listener (a closed window) must not starve the others.
      }
    }
  }

  private setState(state: HostState): void {
    if (this.current === state) return;
    this.current = state;
    for (const l of this.stateListeners) l(state);
  }
}
