/**
 * A refresh job: getOrFetch the last `daysBack` days for each symbol, concurrently (the IBKR pacer
 * decides how many requests are really in flight), with retries for transient failures, reporting
 * progress per symbol and overall, and ending with a summary. Used by cache.refresh and the CLI.
 */
import { type CacheProgress, queuedSymbolProgress, type RefreshSummary, type SymbolProgress } from '../api/cache';
import { type BarSize, IbkrError } from '../ibkr/types';
import { AppError, type Clock, errorMessage, retry } from '../platform';
import type { BarCache } from './bar-cache';
import type { CacheDataType } from './types';

export interface RefreshRequest {
  symbols: string[];
  daysBack: number;
  barSize: BarSize;
  dataType: CacheDataType;
  exchange?: string;
  useRTH: boolean;
}

export interface RefreshOptions {
  jobId: string;
  clock: Clock;
  onProgress: (p: CacheProgress) => void;
  /** Tries per symbol, including the first (default 3). */
  attempts?: number;
  /** Symbols in flight at once (default 50: the pacer, not the cache, is the limit). */
  concurrency?: number;
  retryBaseMs?: number;
  signal?: AbortSignal;
}

const DAY_MS = 86_400_000;

export async function runRefresh(cache: BarCache, req: RefreshRequest, opts: RefreshOptions): Promise<RefreshSummary> {
  const started = opts.clock.now();
  const wallStart = Date.now();
  const symbols = [...new Set(req.symbols.map((s) => s.trim().toUpperCase()))];
  const summary: RefreshSummary = {
    symbolsTotal: symbols.length,
    fetched: [],
    cached: [],
    failed: [],
    rowsFetched: 0,
    rowsCached: 0,
    elapsedMs: 0,
  };
  const { jobId } = opts;
  let done = 0;
  const overall = () =>
    opts.onProgress({ kind: 'overall', jobId, symbolsDone: done, symbolsTotal: symbols.length, failed: summary.failed.length });
  const symbolEvent = (symbol: string, patch: Partial<SymbolProgress>) =>
    opts.onProgress({ ...queuedSymbolProgress(jobId, symbol), ...patch });

  for (const s of symbols) symbolEvent(s, { status: 'queued' });
  overall();

  const one = async (symbol: string) => {
    let attempt = 1;
    const requests = { done: 0, total: 0 };
    symbolEvent(symbol, { status: 'fetching' });
    try {
      const { lineage } = await retry(
        (n) => {
          attempt = n;
          return cache.getOrFetch(symbol, started - req.daysBack * DAY_MS, started, req.barSize, {
            exchange: req.exchange,
            whatToShow: req.dataType,
            useRTH: req.useRTH,
            signal: opts.signal,
            onProgress: (p) => {
              requests.done = p.done;
              requests.total = p.total;
              symbolEvent(symbol, {
                status: p.retrying ? 'retrying' : 'fetching',
                requestsDone: p.done,
                requestsTotal: p.total,
                attempt,
                ...(p.retrying ? { note: p.retrying } : {}),
              });
            },
          });
        },
        {
          attempts: opts.attempts ?? 3,
          baseMs: opts.retryBaseMs ?? 1000,
          maxMs: 15_000,
          jitter: 0.2,
          signal: opts.signal,
          shouldRetry: (err) => isTransient(err),
          onRetry: (err, n) => symbolEvent(symbol, { status: 'retrying', attempt: n + 1, error: describeError(err) }),
        },
      );
      if (lineage.hit) summary.cached.push(symbol);
      else summary.fetched.push(symbol);
      summary.rowsFetched += lineage.rowsFromIbkr;
      summary.rowsCached += lineage.rowsFromCache;
      symbolEvent(symbol, {
        status: 'done',
        requestsDone: requests.done,
        requestsTotal: requests.total,
        rowsFetched: lineage.rowsFromIbkr,
        rowsCached: lineage.rowsFromCache,
        attempt,
        ...(!lineage.hit && lineage.rowsFromIbkr + lineage.rowsFromCache === 0
          ? { note: `IBKR had no ${req.barSize} bars of ${symbol} in the last ${req.daysBack} days` }
          : {}),
      });
    } catch (err) {
      const error = describeError(err);
      summary.failed.push({ symbol, error });
      symbolEvent(symbol, { status: 'failed', attempt, error });
    } finally {
      done++;
      overall();
    }
  };

  const queue = [...symbols];
  const workers = Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 50, queue.length)) }, async () => {
    for (let s = queue.shift(); s !== undefined; s = queue.shift()) await one(s);
  });
  await Promise.all(workers);
  summary.elapsedMs = Date.now() - wallStart;
  summary.fetched.sort();
  summary.cached.sort();
  opts.onProgress({ kind: 'summary', jobId, summary });
  return summary;
}

/** Failures worth another try: disconnects, pacing. Not: unknown symbol, no permission, bad input, or a timeout (the source already sent that request twice). */
export function isTransient(err: unknown): boolean {
  if (err instanceof IbkrError) {
    if (err.ibkrCode !== null && [200, 321, 354, 10089, 10167, 10168, 10197].includes(err.ibkrCode)) return false;
    if (
      /UNKNOWN_SYMBOL|NO_PERMISSION|OFFLINE|BAD_REQUEST|BAD_END_TIME|BAD_DATA|TIMEOUT|UNAVAILABLE|ABORTED|CLIENT_ID/.test(
        err.code,
      )
    )
      return false;
    return !/unknown symbol|ambiguous|permission|not subscribed/i.test(err.message);
  }
  if (err instanceof AppError) return err.status >= 500 && err.code !== 'DEBUG_MODE';
  return !(err instanceof Error && err.name === 'AbortError');
}

export function describeError(err: unknown): { code: string; message: string; ibkrCode: number | null } {
  if (err instanceof IbkrError) return { code: err.code, message: err.message, ibkrCode: err.ibkrCode };
  if (err instanceof AppError) return { code: err.code, message: err.message, ibkrCode: null };
  return { code: 'internal', message: errorMessage(err), ibkrCode: null };
}
