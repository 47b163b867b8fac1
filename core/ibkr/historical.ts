/**
 * IbkrHistoricalSource: `HistoricalSource` over IbkrConnection. Splits the range by IBKR's maximum
 * duration per bar size, sends each piece through the PacingLimiter with endDateTime in explicit UTC
 * (`yyyyMMdd-HH:mm:ss`), retries pacing violations (162), "too many requests" (322) and timeouts with
 * capped exponential backoff, turns "HMDS query returned no data" into [] for that piece, and returns the
 * bars in [start, end) sorted and de-duplicated. A piece cut off by a dropped connection waits for the
 * reconnect (up to RECONNECT_WAIT_MS) and is sent again under the same retry policy. Any other failure
 * aborts the remaining pieces and rejects with an IbkrError (unknown symbol, no permission, not connected …);
 * the pieces that did arrive were already handed to `onPiece`.
 */
import { type Clock, errorMessage, type Logger, type RetryOptions, retry, silentLogger, systemClock } from '../platform';
import type { IbBar, IbkrConnection } from './connection';
import { parseBarTime, type RangePiece, splitRange } from './durations';
import { IBKR_ERROR_CODES as C, isRetryableIbkrError } from './errors';
import { type PacingLimiter, pacingRequest } from './pacing';
import { meetsRegularSession, sessionsKnown } from './sessions';
import {
  BAR_SIZES,
  type HistoricalBarsRequest,
  type HistoricalFetchOptions,
  type HistoricalSource,
  IbkrError,
  type RawBar,
} from './types';

/** How long a piece cut off by a dropped connection waits for the connection to come back. */
export const RECONNECT_WAIT_MS = 30_000;

export interface HistoricalSourceOptions {
  connection: IbkrConnection;
  limiter: PacingLimiter;
  logger?: Logger;
  clock?: Clock;
  /** Retry policy for pacing violations and timeouts (default 6 tries, 1 s doubling to 30 s, 20 % jitter). */
  retry?: Pick<RetryOptions, 'attempts' | 'baseMs' | 'maxMs' | 'factor' | 'jitter'>;
  /** Timeout of one request (default: the connection's). */
  requestTimeoutMs?: number;
  /** When true, refuse to touch the network (DEBUG_MODE offline replay). */
  isOffline?: () => boolean;
}

export interface HistoricalSourceStats {
  /** Requests sent to IBKR (including retries). */
  requests: number;
  retries: number;
  /** Pieces IBKR answered with "no data". */
  noData: number;
  /** Pieces never sent: outside every regular session (US stocks, regular hours, intraday). */
  skipped: number;
  bars: number;
  /** Bars IBKR sent without a finite open/high/low/close (left out, logged). */
  invalidBars: number;
}

export class IbkrHistoricalSource implements HistoricalSource {
  private readonly options: HistoricalSourceOptions;
  private readonly logger: Logger;
  private readonly clock: Clock;
  readonly stats: HistoricalSourceStats = { requests: 0, retries: 0, noData: 0, skipped: 0, bars: 0, invalidBars: 0 };

  constructor(options: HistoricalSourceOptions) {
    this.options = options;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'ibkr-historical' });
    this.clock = options.clock ?? systemClock;
  }

  async fetchBars(request: HistoricalBarsRequest, options: HistoricalFetchOptions = {}): Promise<RawBar[]> {
    if (this.options.isOffline?.()) {
      throw new IbkrError(C.OFFLINE, 'DEBUG_MODE is on: replaying from the cache only, IBKR is not contacted', null);
    }
    if (!(BAR_SIZES as readonly string[]).includes(request.barSize)) {
      throw new IbkrError(
        C.BAD_REQUEST,
        `Unsupported bar size "${request.barSize}"; expected one of ${BAR_SIZES.join(', ')}`,
        null,
      );
    }
    if (!(request.end > request.start)) return [];
    const { connection, limiter } = this.options;
    const symbol = request.symbol.trim().toUpperCase();
    const exchange = request.exchange.trim().toUpperCase();
    const policy = { attempts: 6, baseMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2, ...this.options.retry };
    const contract = await retry(
      async (attempt) => {
        if (attempt > 1) await this.reconnected(options.signal);
        return connection.resolveContract(symbol, exchange, request.currency ?? 'USD', {
          signal: options.signal,
          timeoutMs: this.options.requestTimeoutMs,
        });
      },
      { ...policy, clock: this.clock, signal: options.signal, shouldRetry: isWorthRetrying },
    );
    // Pieces not yet sent when the connection drops find it "not connected": worth waiting for the reconnect
    // then, as for the pieces cut off — but not when the gateway was already down as the fetch began.
    const connectedAtStart = connection.connected;
    const worthRetrying = (err: unknown, attempt: number) =>
      isWorthRetrying(err, attempt) || (connectedAtStart && attempt < 2 && isNotConnected(err));
    const pieces = this.piecesToAsk(request, options);
    const total = pieces.length;
    let done = 0;
    options.onProgress?.({ symbol, done, total });

    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });

    const fetchPiece = async (piece: (typeof pieces)[number]): Promise<IbBar[]> => {
      const query = {
        endDateTime: piece.endDateTime,
        durationStr: piece.durationStr,
        barSize: request.barSize,
        whatToShow: request.whatToShow,
        useRTH: request.useRTH,
      };
      const pacing = pacingRequest({ contractKey: String(contract.conId), exchange, ...query });
      try {
        return await retry(
          async (attempt) => {
            if (attempt > 1) await this.reconnected(controller.signal);
            const release = await limiter.acquire(pacing, controller.signal);
            try {
              this.stats.requests++;
              return await connection.historicalBars(contract, query, {
                signal: controller.signal,
                timeoutMs: this.options.requestTimeoutMs,
              });
            } finally {
              release();
            }
          },
          {
            ...policy,
            clock: this.clock,
            signal: controller.signal,
            shouldRetry: worthRetrying,
            onRetry: (err, attempt, delayMs) => {
              this.stats.retries++;
              options.onProgress?.({
                symbol,
                done,
                total,
                retrying: `${errorMessage(err)}; asking again in ${Math.ceil(delayMs / 1000)} s (try ${attempt + 1})`,
              });
              this.logger.warn('IBKR request will be retried', {
                symbol,
                end: piece.endDateTime,
                attempt,
                delayMs,
                error: errorMessage(err),
              });
            },
          },
        );
      } catch (err) {
        if (err instanceof IbkrError && err.code === C.NO_DATA) {
          this.stats.noData++;
          return [];
        }
        throw err;
      }
    };

    try {
      const results = await Promise.all(
        pieces.map((piece) =>
          fetchPiece(piece)
            .then((ibBars) => {
              done++;
              const { bars, invalid } = barsWithin(ibBars, piece.start, piece.end, symbol);
              if (invalid > 0) {
                this.stats.invalidBars += invalid;
                this.logger.warn('IBKR bars without prices were left out', { symbol, end: piece.endDateTime, bars: invalid });
              }
              options.onPiece?.({ start: piece.start, end: piece.end }, bars);
              options.onProgress?.({ symbol, done, total });
              return bars;
            })
            .catch((err) => {
              if (!controller.signal.aborted) controller.abort(err);
              throw err;
            }),
        ),
      );
      // Pieces are disjoint slices of [start, end), each sorted: ordered by start, they concatenate in order.
      const bars = results
        .map((list, i) => ({ list, start: pieces[i].start }))
        .sort((a, b) => a.start - b.start)
        .flatMap((p) => p.list);
      this.stats.bars += bars.length;
      this.logger.debug('IBKR bars fetched', { symbol, barSize: request.barSize, pieces: total, bars: bars.length });
      return bars;
    } catch (err) {
      // The first failure wins; pieces cancelled because of it only repeat the abort.
      if (options.signal?.aborted && !(err instanceof IbkrError)) {
        throw new IbkrError(C.ABORTED, `Fetching ${symbol} was cancelled`, null, { cause: err });
      }
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** The split range without the pieces that cannot hold bars; those are handed over as empty at once. */
  private piecesToAsk(request: HistoricalBarsRequest, options: HistoricalFetchOptions): RangePiece[] {
    const pieces = splitRange(request.start, request.end, request.barSize);
    if (!sessionsKnown(request)) return pieces;
    const open = pieces.filter((p) => meetsRegularSession(p.start, p.end));
    const closed = pieces.length - open.length;
    if (closed === 0) return pieces;
    this.stats.skipped += closed;
    for (const p of pieces) if (!open.includes(p)) options.onPiece?.({ start: p.start, end: p.end }, []);
    this.logger.debug('pieces outside regular sessions not requested', { symbol: request.symbol, closed, asked: open.length });
    return open;
  }

  /** Before sending again: a dropped connection must be back first (the connection reconnects on its own). */
  private async reconnected(signal?: AbortSignal): Promise<void> {
    if (!this.options.connection.connected) await this.options.connection.waitForConnected(RECONNECT_WAIT_MS, signal);
  }
}

/**
 * Pacing, timeouts, and a connection that dropped under the request (the gateway usually comes back).
 * A request that timed out is sent once more, not every attempt: a gateway that sits on a query does so
 * again, and each try costs a whole timeout (six of them made one silent symbol take half an hour).
 */
function isNotConnected(err: unknown): boolean {
  return err instanceof IbkrError && err.code === C.NOT_CONNECTED;
}

function isWorthRetrying(err: unknown, attempt: number): boolean {
  if (err instanceof IbkrError && err.code === C.TIMEOUT) return attempt < 2;
  return isRetryableIbkrError(err) || (err instanceof IbkrError && err.code === C.DISCONNECTED);
}

/** The bars of `list` in [start, end), sorted by time, one per timestamp. */
function barsWithin(list: readonly IbBar[], start: number, end: number, symbol: string): { bars: RawBar[]; invalid: number } {
  const byTs = new Map<number, RawBar>();
  let invalid = 0;
  for (const bar of list) {
    const raw = toRawBar(bar);
    if (raw === null) {
      // Dropping bars we cannot place in time would record the range as fetched without them.
      throw new IbkrError(
        C.BAD_DATA,
        `IBKR sent a ${symbol} bar time Marketdesk cannot read ("${String(bar.time).slice(0, 40)}"); nothing of this fetch was stored`,
        null,
      );
    }
    if (![raw.open, raw.high, raw.low, raw.close].every(Number.isFinite)) {
      invalid++;
      continue;
    }
    if (raw.ts >= start && raw.ts < end) byTs.set(raw.ts, raw);
  }
  return { bars: [...byTs.values()].sort((a, b) => a.ts - b.ts), invalid };
}

/** IBKR sends -1 for "not available" (volume, WAP and count of non-TRADES data): NaN, stored as such / NULL. */
function available(x: number): number {
  return Number.isFinite(x) && x >= 0 ? x : Number.NaN;
}

export function toRawBar(bar: IbBar): RawBar | null {
  const ts = parseBarTime(bar.time);
  if (ts === null) return null;
  return {
    ts,
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: available(bar.volume),
    wap: available(bar.wap),
    count: available(bar.count),
  };
}
