/** Handlers of the cache.* contract methods. */
import { randomUUID } from 'node:crypto';
import type { EventHub, Handlers } from '../api';
import type { RefreshSummary } from '../api/cache';
import type { Settings } from '../config';
import { AppError, type Clock, type Logger } from '../platform';
import { type BarCache, checkFetch } from './bar-cache';
import { runRefresh } from './refresh';

export interface CacheHandlerDeps {
  cache: BarCache;
  settings: () => Settings;
  events: EventHub;
  clock: Clock;
  logger: Logger;
}

type CacheHandlers = Pick<Handlers, 'cache.list' | 'cache.get' | 'cache.refresh' | 'cache.clear'>;

/** Refresh jobs in flight (and their promise, so tests and shutdown can wait for them). */
export class RefreshJobs {
  readonly running = new Map<string, Promise<RefreshSummary>>();
  private readonly controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Aborts every running job (shutdown) and waits for them to end. */
  async stop(): Promise<void> {
    this.controller.abort(new Error('workstation stopping'));
    await this.drain();
  }

  latest(): string | null {
    return [...this.running.keys()].at(-1) ?? null;
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }
}

export function cacheHandlers(deps: CacheHandlerDeps, jobs = new RefreshJobs()): CacheHandlers {
  const { cache, settings, events, clock } = deps;
  const logger = deps.logger.child({ component: 'cache-api' });
  return {
    'cache.list': async () => {
      const s = settings();
      return {
        entries: await cache.list(),
        symbols: s.CACHE_SYMBOLS,
        exchange: s.CACHE_EXCHANGE,
        ttlHours: s.CACHE_TTL_HOURS,
        enabled: s.CACHE_ENABLED,
        debugMode: s.DEBUG_MODE,
        refreshing: jobs.latest(),
      };
    },

    'cache.get': async (input) => {
      const key = cache.seriesKey(input.symbol, input.barSize, {
        exchange: input.exchange,
        whatToShow: input.dataType,
        useRTH: input.useRTH,
      });
      const to = input.to ?? clock.now() + 1;
      // Reading, no `from` means everything cached; fetching, the last year (as cache.refresh), never "since 1970".
      const from = input.from ?? (input.fetch ? to - 365 * 86_400_000 : 0);
      if (from >= to) throw new AppError('invalid_input', '"from" must be before "to"', { status: 400 });
      if (input.fetch) {
        const { columns, lineage } = await cache.getOrFetch(input.symbol, from, to, input.barSize, {
          exchange: key.exchange,
          whatToShow: key.dataType,
          useRTH: key.useRTH,
        });
        return { ...key, count: columns.ts.length, columns, lineage };
      }
      const { columns } = await cache.read(key, { start: from, end: to });
      return { ...key, count: columns.ts.length, columns, lineage: null };
    },

    'cache.refresh': async (input) => {
      const s = settings();
      if (s.DEBUG_MODE) {
        throw new AppError('DEBUG_MODE', 'DEBUG_MODE is on: the cache is replayed offline and nothing is fetched from IBKR', {
          status: 409,
        });
      }
      const symbols = input.symbols ?? (input.symbol ? [input.symbol] : s.CACHE_SYMBOLS);
      // The range is the same for every symbol: a refusal is answered now, not from inside the background job.
      const now = clock.now();
      const label =
        symbols.length === 1 ? symbols[0] : `${symbols.slice(0, 3).join(', ')}${symbols.length > 3 ? ', …' : ''} (each)`;
      checkFetch(label, input.barSize, [{ start: now - input.daysBack * 86_400_000, end: now }], now);
      const jobId = `refresh-${randomUUID().slice(0, 8)}`;
      logger.info('cache refresh started', { jobId, symbols, barSize: input.barSize, daysBack: input.daysBack });
      const job = runRefresh(
        cache,
        { ...input, symbols },
        { jobId, clock, signal: jobs.signal, onProgress: (p) => events.emit('cache.progress', p) },
      )
        .then((summary) => {
          logger.info('cache refresh finished', { jobId, ...summary });
          return summary;
        })
        .finally(() => jobs.running.delete(jobId));
      jobs.running.set(jobId, job);
      job.catch((err) => logger.error('cache refresh crashed', { jobId, error: err as Error }));
      return { jobId, symbols: [...new Set(symbols)] };
    },

    'cache.clear': async (input) => cache.clear(input),
  };
}
