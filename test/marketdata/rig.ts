/**
 * A bar cache on real temp-dir stores, fetching through the real IbkrHistoricalSource and the real
 * @stoqey/ib client from the simulated IB Gateway. Time for the cache is a ManualClock.
 */
import { IbGatewaySimulator, IbkrConnection, IbkrHistoricalSource, PacingLimiter, type SimulatorOptions } from '../../core/ibkr';
import { BarCache, type SeriesKey } from '../../core/marketdata';
import { ManualClock } from '../../core/platform';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** Wednesday 7 January 2026, 15:00 UTC (10:00 in New York). */
export const NOW = Date.UTC(2026, 0, 7, 15);

export interface CacheRig extends TestWorkstation {
  cache: BarCache;
  sim: IbGatewaySimulator;
  source: IbkrHistoricalSource;
  connection: IbkrConnection;
  limiter: PacingLimiter;
  clock: ManualClock;
  /** Historical requests the simulator has received (optionally for one symbol). */
  requests(symbol?: string): number;
  /** Every bar row of a series, straight from the table (ts, close, fetched_at). */
  tableRows(key: SeriesKey): Promise<{ ts: number; close: number; fetched: number }[]>;
  coverageRows(key: SeriesKey): Promise<{ start: number; end: number; fetchedAt: number; rowCount: number }[]>;
}

export async function openCacheRig(
  options: { env?: Record<string, string>; sim?: SimulatorOptions; sourceAttempts?: number; requestTimeoutMs?: number } = {},
): Promise<CacheRig> {
  const clock = new ManualClock(NOW);
  const t = await openTestWorkstation(options.env ?? {}, { clock });
  const sim = new IbGatewaySimulator({ now: () => clock.now(), ...options.sim });
  const port = await sim.start();
  const connection = new IbkrConnection({
    host: '127.0.0.1',
    port,
    clientId: 11,
    mode: 'demo',
    logger: t.ws.logger,
    requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
    handshakeTimeoutMs: 3_000,
    reconnect: { baseMs: 50, maxMs: 200, factor: 2, jitter: 0 },
  });
  connection.start();
  await connection.waitForConnected(5_000);
  const limiter = new PacingLimiter({});
  const source = new IbkrHistoricalSource({
    connection,
    limiter,
    logger: t.ws.logger,
    retry: { attempts: options.sourceAttempts ?? 4, baseMs: 20, maxMs: 100, factor: 2, jitter: 0 },
  });
  const cache = new BarCache({
    warehouse: t.ws.stores.warehouse,
    journal: t.ws.stores.journal,
    settings: () => t.ws.settings.get(),
    source: () => source,
    clock,
    logger: t.ws.logger,
    sourceName: 'ibkr-simulator',
  });
  const params = (key: SeriesKey) => ({ ...key });
  const where =
    'symbol = $symbol AND exchange = $exchange AND data_type = $dataType AND bar_size = $barSize AND use_rth = $useRTH';
  return {
    ...t,
    cache,
    sim,
    source,
    connection,
    limiter,
    clock,
    requests: (symbol) => sim.historicalRequests(symbol).length,
    tableRows: (key) =>
      t.ws.stores.warehouse.rows(
        `SELECT epoch_ms(ts) AS ts, close, epoch_ms(fetched_at) AS fetched FROM bars WHERE ${where} ORDER BY ts`,
        params(key),
      ),
    coverageRows: (key) =>
      t.ws.stores.warehouse.rows(
        `SELECT epoch_ms(start_ts) AS start, epoch_ms(end_ts) AS "end", epoch_ms(fetched_at) AS "fetchedAt", row_count AS "rowCount"
           FROM bar_coverage WHERE ${where} ORDER BY start_ts`,
        params(key),
      ),
    async dispose() {
      await connection.stop('test over').catch(() => undefined);
      await sim.stop();
      await t.dispose();
    },
  };
}
