/**
 * Contract for the market-data cache: list what is cached, read bars as columns, refresh from
 * IBKR as a background job with progress events, and clear.
 * Times in inputs: epoch ms or an ISO date/date-time (UTC when no zone is given). Times in outputs: ISO strings.
 */
import { z } from 'zod';
import { BAR_SIZES } from '../ibkr/types';
import { event, method } from './define';

const SYMBOL = /^[A-Z0-9][A-Z0-9.\-/]{0,14}$/;
export const cacheSymbolSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(SYMBOL, 'expected a ticker symbol: letters, digits, ".", "-" or "/", no spaces');
export const barSizeSchema = z.enum(BAR_SIZES, { error: `expected an IBKR bar size: ${BAR_SIZES.join(', ')}` });
export const cacheDataTypeSchema = z.enum(['TRADES', 'MIDPOINT', 'BID', 'ASK', 'ADJUSTED_LAST']);
const exchangeSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z0-9.]{2,16}$/, 'expected an exchange code such as NASDAQ, NYSE or ARCA');

/** Epoch ms, or an ISO date / date-time; becomes epoch ms. */
export const timeInputSchema = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected epoch milliseconds or an ISO date such as 2025-01-31' });
    return z.NEVER;
  }
  // The stores hold microseconds in 64 bits: a time past year 9999 is a mistake, not a range to read.
  if (ms < MIN_TIME_MS || ms > MAX_TIME_MS) {
    ctx.addIssue({ code: 'custom', message: 'expected a time between 1900-01-01 and 9999-12-31' });
    return z.NEVER;
  }
  return ms;
});
const MIN_TIME_MS = Date.UTC(1900, 0, 1);
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const range = z.object({ start: z.number(), end: z.number() });

export const cacheEntrySchema = z.object({
  symbol: z.string(),
  exchange: z.string(),
  dataType: z.string(),
  barSize: z.string(),
  useRTH: z.boolean(),
  rows: z.number(),
  firstTs: z.string().nullable(),
  lastTs: z.string().nullable(),
  lastUpdated: z.string().nullable(),
  coverageIntervals: z.number(),
  hits: z.number(),
  misses: z.number(),
  hitRate: z.number().nullable(),
});
export type CacheEntry = z.infer<typeof cacheEntrySchema>;

/** Float64Array in process (IPC) and to our HTTP client (core/api/typed-arrays.ts); plain number arrays to other HTTP clients. */
const numberColumn = z.custom<Float64Array | number[]>((v) => v instanceof Float64Array || Array.isArray(v));

export const barColumnsSchema = z.object({
  ts: numberColumn,
  open: numberColumn,
  high: numberColumn,
  low: numberColumn,
  close: numberColumn,
  volume: numberColumn,
});

export const lineageSchema = z.object({
  symbol: z.string(),
  barSize: z.string(),
  rowsFromCache: z.number(),
  rowsFromIbkr: z.number(),
  fetchedRanges: z.array(range),
  staleRanges: z.array(range),
  missingRanges: z.array(range),
  fetchedAtMin: z.string().nullable(),
  fetchedAtMax: z.string().nullable(),
  mode: z.enum(['cache', 'cache-only', 'always-fetch']),
  hit: z.boolean(),
});

const errorSchema = z.object({ code: z.string(), message: z.string(), ibkrCode: z.number().nullable() });

export const refreshSummarySchema = z.object({
  symbolsTotal: z.number(),
  /** Symbols for which IBKR was asked for something. */
  fetched: z.array(z.string()),
  /** Symbols served wholly from the cache (nothing was stale or missing). */
  cached: z.array(z.string()),
  failed: z.array(z.object({ symbol: z.string(), error: errorSchema })),
  rowsFetched: z.number(),
  rowsCached: z.number(),
  elapsedMs: z.number(),
});
export type RefreshSummary = z.infer<typeof refreshSummarySchema>;

export const cacheProgressSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('symbol'),
    jobId: z.string(),
    symbol: z.string(),
    status: z.enum(['queued', 'fetching', 'retrying', 'done', 'failed']),
    /** IBKR requests done / planned for this symbol (after range splitting). */
    requestsDone: z.number(),
    requestsTotal: z.number(),
    rowsFetched: z.number(),
    rowsCached: z.number(),
    attempt: z.number(),
    error: errorSchema.nullable(),
    /** Something worth saying that is not an error, e.g. IBKR had no data in the range. */
    note: z.string().optional(),
  }),
  z.object({
    kind: z.literal('overall'),
    jobId: z.string(),
    symbolsDone: z.number(),
    symbolsTotal: z.number(),
    failed: z.number(),
  }),
  z.object({ kind: z.literal('summary'), jobId: z.string(), summary: refreshSummarySchema }),
]);
export type CacheProgress = z.infer<typeof cacheProgressSchema>;
export type SymbolProgress = Extract<CacheProgress, { kind: 'symbol' }>;

/** A symbol's progress before its first request: the one starting point for the core and the UI. */
export function queuedSymbolProgress(jobId: string, symbol: string): SymbolProgress {
  return {
    kind: 'symbol',
    jobId,
    symbol,
    status: 'queued',
    requestsDone: 0,
    requestsTotal: 0,
    rowsFetched: 0,
    rowsCached: 0,
    attempt: 1,
    error: null,
  };
}

export const cacheRefreshInputSchema = z
  .object({
    /** One symbol, a list, or nothing for all of CACHE_SYMBOLS. */
    symbol: cacheSymbolSchema.optional(),
    symbols: z.array(cacheSymbolSchema).min(1, 'expected at least one symbol').max(500).optional(),
    daysBack: z
      .number()
      .int('expected whole days')
      .min(1)
      .max(365 * 30)
      .default(365),
    barSize: barSizeSchema.default('1 day'),
    dataType: cacheDataTypeSchema.default('TRADES'),
    exchange: exchangeSchema.optional(),
    useRTH: z.boolean().default(true),
  })
  .strict();

export const cacheMethods = {
  'cache.list': method(
    'Cached series: rows, first/last bar, last update and hit rate per symbol, data type and bar size',
    z.object({}).strict(),
    z.object({
      entries: z.array(cacheEntrySchema),
      symbols: z.array(z.string()),
      exchange: z.string(),
      ttlHours: z.number(),
      enabled: z.boolean(),
      debugMode: z.boolean(),
      refreshing: z.string().nullable(),
    }),
  ),
  'cache.get': method(
    'Bars of one symbol as columns (ts in epoch ms). Reads the cache; fetch: true fills gaps from IBKR first',
    z
      .object({
        symbol: cacheSymbolSchema,
        from: timeInputSchema.optional(),
        to: timeInputSchema.optional(),
        dataType: cacheDataTypeSchema.default('TRADES'),
        barSize: barSizeSchema.default('1 day'),
        exchange: exchangeSchema.optional(),
        useRTH: z.boolean().default(true),
        fetch: z.boolean().default(false),
      })
      .strict(),
    z.object({
      symbol: z.string(),
      exchange: z.string(),
      dataType: z.string(),
      barSize: z.string(),
      count: z.number(),
      columns: barColumnsSchema,
      lineage: lineageSchema.nullable(),
    }),
    { bulk: true },
  ),
  'cache.refresh': method(
    'Refresh one symbol, a list, or all of CACHE_SYMBOLS from IBKR in the background; progress arrives as cache.progress',
    cacheRefreshInputSchema,
    z.object({ jobId: z.string(), symbols: z.array(z.string()) }),
  ),
  'cache.clear': method(
    'Delete cached bars and coverage of a symbol, a data type, a bar size, or everything (all: true)',
    z
      .object({
        symbol: cacheSymbolSchema.optional(),
        dataType: cacheDataTypeSchema.optional(),
        barSize: barSizeSchema.optional(),
        all: z.literal(true).optional(),
      })
      .strict()
      .refine((v) => v.all || v.symbol || v.dataType || v.barSize, {
        message: 'say what to clear: symbol, dataType, barSize, or all: true',
      }),
    z.object({ rows: z.number(), intervals: z.number() }),
  ),
};

export const cacheEvents = {
  'cache.progress': event('Progress of a cache refresh job: per symbol, overall, and a final summary', cacheProgressSchema),
};
