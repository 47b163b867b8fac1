/** A simulated IB Gateway plus our real connection (real @stoqey/ib client) for tests. */
import {
  IbkrConnection,
  type IbkrConnectionOptions,
  IbkrHistoricalSource,
  PacingLimiter,
  type PacingOptions,
} from '../../core/ibkr';
import { IbGatewaySimulator, type SimulatorOptions } from '../../core/ibkr/simulator';
import { Logger, type LogRecord, memorySink } from '../../core/platform';

export interface Rig {
  sim: IbGatewaySimulator;
  conn: IbkrConnection;
  limiter: PacingLimiter;
  source: IbkrHistoricalSource;
  logs: LogRecord[];
  close(): Promise<void>;
}

/** Fast timeouts and backoff so fault tests finish in well under a second each. */
export async function startRig(
  simOptions: SimulatorOptions = {},
  connOptions: Partial<IbkrConnectionOptions> = {},
  pacing: PacingOptions = {},
  options: { connect?: boolean } = {},
): Promise<Rig> {
  const sim = new IbGatewaySimulator(simOptions);
  const port = await sim.start();
  const logs: LogRecord[] = [];
  const logger = new Logger([memorySink(logs)], 'debug');
  const conn = new IbkrConnection({
    host: '127.0.0.1',
    port,
    clientId: 17,
    logger,
    handshakeTimeoutMs: 1_500,
    requestTimeoutMs: 3_000,
    reconnect: { baseMs: 50, maxMs: 400, factor: 2, jitter: 0 },
    ...connOptions,
  });
  const limiter = new PacingLimiter(pacing);
  const source = new IbkrHistoricalSource({
    connection: conn,
    limiter,
    logger,
    retry: { attempts: 5, baseMs: 20, maxMs: 200, jitter: 0 },
  });
  if (options.connect !== false) {
    conn.start();
    await conn.waitForConnected(5_000);
  }
  return {
    sim,
    conn,
    limiter,
    source,
    logs,
    async close() {
      await conn.stop();
      await sim.stop();
    },
  };
}

/** Polls until `predicate` holds or the deadline passes (then throws with `what`). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const utc = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);
