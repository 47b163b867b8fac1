/**
 * The core host: runs one Workstation and serves the contract over a message port
 * (Electron's `process.parentPort` in a utilityProcess, or the IPC channel of `child_process.fork`).
 * Keeps the stores in their own process so a synchronous SQLite commit never stalls the window.
 */
import type { FromHost, MessagePortLike, ToHost } from '../api/port-protocol';
import { AppError, errorMessage } from '../platform';
import type { Workstation } from '../workstation';

export type HostPort = MessagePortLike<ToHost, FromHost> & {
  /** Delivers what was posted, then lets the process end. */
  close(): Promise<void>;
  /** The other side went away (main process died): stop as if asked. */
  onDisconnect(handler: () => void): void;
};

export interface RunHostOptions {
  open(): Promise<Workstation>;
  /** Called once with the exit code; the entry point ends the process with it. */
  exit(code: number): void;
  /** Signals that mean "stop cleanly" (the entry passes process.once). */
  onSignal?(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  /** After start: make the workstation reachable by CLI commands; returns how to withdraw that before stopping. */
  publish?(workstation: Workstation): Promise<() => Promise<void>>;
}

/** Exit codes: 0 stopped cleanly, 3 bad config or unusable store (like the CLI), 1 anything else. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof AppError && (err.code === 'CONFIG_INVALID' || err.code.startsWith('STORE_'))) return 3;
  return 1;
}

export function runHost(port: HostPort, options: RunHostOptions): void {
  let workstation: Workstation | null = null;
  let finished = false;
  let stopping: Promise<void> | null = null;
  const queued: Extract<ToHost, { kind: 'call' }>[] = [];

  const finish = async (code: number) => {
    if (finished) return;
    finished = true;
    await port.close().catch(() => undefined);
    options.exit(code);
  };

  const serve = (msg: Extract<ToHost, { kind: 'call' }>) => {
    const ws = workstation;
    if (!ws || stopping) {
      if (stopping) {
        port.post({
          kind: 'result',
          id: msg.id,
          result: { ok: false, error: { code: 'host_stopping', status: 503, message: 'Marketdesk is shutting down' } },
        });
      } else queued.push(msg);
      return;
    }
    ws.dispatcher
      .call(msg.method, msg.input, { via: 'port' })
      .then((result) => port.post({ kind: 'result', id: msg.id, result }));
  };

  // Opening may fail (bad config, locked store): report it as `fatal` with the message, exit non-zero.
  let unpublish: (() => Promise<void>) | null = null;
  const opening = (async (): Promise<Workstation | null> => {
    try {
      const ws = await options.open();
      await ws.start();
      try {
        unpublish = (await options.publish?.(ws)) ?? null;
      } catch (err) {
        ws.logger.warn('CLI commands cannot reach this app while it runs', { error: errorMessage(err) });
      }
      return ws;
    } catch (err) {
      port.post({ kind: 'fatal', code: err instanceof AppError ? err.code : 'HOST_START_FAILED', message: errorMessage(err) });
      await finish(exitCodeFor(err));
      return null;
    }
  })();

  const stop = () => {
    stopping ??= (async () => {
      const ws = await opening;
      if (finished) return;
      try {
        await unpublish?.().catch(() => undefined);
        // Services stop in reverse (listeners finish in-flight commits), then both stores checkpoint and close.
        await ws?.stop();
        port.post({ kind: 'stopped' });
        await finish(0);
      } catch (err) {
        port.post({ kind: 'fatal', code: 'STOP_FAILED', message: errorMessage(err) });
        await finish(1);
      }
    })();
    return stopping;
  };

  port.onMessage((msg) => {
    if (msg.kind === 'call') serve(msg);
    else if (msg.kind === 'stop') void stop();
  });
  port.onDisconnect(() => void stop());
  options.onSignal?.('SIGTERM', () => void stop());
  options.onSignal?.('SIGINT', () => void stop());

  void opening.then((ws) => {
    if (!ws || stopping) return;
    ws.events.subscribe((name, payload) => port.post({ kind: 'event', name, payload }));
    workstation = ws;
    port.post({ kind: 'ready', dataDir: ws.dataDir, pid: process.pid });
    for (const msg of queued.splice(0)) serve(msg);
  });
}
