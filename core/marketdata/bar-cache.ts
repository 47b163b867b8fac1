/**
 * BarCache: historical bars from IBKR, fetched once and served from the DuckDB warehouse.
 *
 * getOrFetch reads the series' coverage, plans the sub-ranges to fetch (never-fetched gaps plus the
 * stale tail, see coverage.ts), fetches only those through the HistoricalSource, writes bars and
 * coverage in ONE warehouse transaction (a fetch that fails part-way keeps only the pieces that fully arrived,
 * each with its coverage, so the retry asks IBKR for the rest only) and returns the rows as
 * Float64Array columns with their lineage. Calls for the same series are serialised, so two
 * concurrent callers never fetch the same range twice.
 */
import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Settings } from '../config';
import { isSmallBar, maxDuration } from '../ibkr/durations';
import { type BarSize, type HistoricalSource, IbkrError, type RawBar } from '../ibkr/types';
import { AppError, type Clock, errorMessage, type Logger } from '../platform';
import type { Journal, Warehouse } from '../storage';
import { readFloat64Columns } from './columns';
import {
  alignStart,
  type CoverageInterval,
  mergeRanges,
  planFetch,
  type Range,
  replaceCoverage,
  subtractRanges,
} from './coverage';
import { dropIndicatorFiles, indicatorDir } from './indicator-files';
import type { BarColumns, CacheDataType, GetOrFetchOptions, GetOrFetchResult, SeriesKey } from './types';

export interface BarCacheDeps {
  warehouse: Warehouse;
  journal: Journal;
  settings: () => Settings;
  /** Resolved per call: the IBKR side may be built after the cache, or be absent. */
  source: () => HistoricalSource | undefined;
  clock: Clock;
  logger: Logger;
  /** Written to bars.source: 'ibkr', or 'ibkr-simulator' in demo mode. */
  sourceName?: string;
}

export interface CacheListEntry {
  symbol: string;
  exchange: string;
  dataType: string;
  barSize: string;
  useRTH: boolean;
  rows: number;
  firstTs: string | null;
  lastTs: string | null;
  lastUpdated: string | null;
  coverageIntervals: number;
  hits: number;
  misses: number;
  hitRate: number | null;
}

export interface ClearFilter {
  symbol?: string;
  dataType?: string;
  barSize?: string;
  all?: boolean;
}

const COLUMN_NAMES = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;

export class BarCache {
  private readonly deps: BarCacheDeps;
  private readonly logger: Logger;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(deps: BarCacheDeps) {
    this.deps = deps;
    this.logger = deps.logger.child({ component: 'bar-cache' });
  }

  /** The series a call refers to, with the settings' defaults filled in. */
  seriesKey(symbol: string, barSize: BarSize, options: GetOrFetchOptions = {}): SeriesKey {
    const s = this.deps.settings();
    return {
      symbol: symbol.trim().toUpperCase(),
      exchange: (options.exchange ?? s.CACHE_EXCHANGE).trim().toUpperCase(),
      dataType: options.whatToShow ?? 'TRADES',
      barSize,
      useRTH: options.useRTH ?? true,
    };
  }

  async getOrFetch(
    symbol: string,
    from: number | Date,
    to: number | Date,
    barSize: BarSize,
    options: GetOrFetchOptions = {},
  ): Promise<GetOrFetchResult> {
    const key = this.seriesKey(symbol, barSize, options);
    const fromMs = toMs(from, 'from');
    const toMsValue = toMs(to, 'to');

    return this.withSeriesLock(key, async () => {
      // Read the clock and settings once the series is ours: a caller that waited sees the fresh coverage.
      const settings = this.deps.settings();
      const now = this.deps.clock.now();
      const request: Range = { start: alignStart(fromMs, barSize), end: Math.min(toMsValue, now) };
      const offline = options.offline ?? settings.DEBUG_MODE;
      const mode = offline ? 'cache-only' : settings.CACHE_ENABLED ? 'cache' : 'always-fetch';
      let toFetch: Range[] = [];
      let staleRanges: Range[] = [];
      let missingRanges: Range[] = [];
      if (request.end > request.start) {
        const intervals = await this.coverage(key);
        if (mode === 'cache-only') missingRanges = subtractRanges(request, intervals);
        else if (mode === 'always-fetch') toFetch = [request];
        else
          ({ toFetch, staleTails: staleRanges } = planFetch(
            request,
            intervals,
            barSize,
            now,
            settings.CACHE_TTL_HOURS * 3_600_000,
          ));
      }

      if (toFetch.length > 0) {
        checkFetch(key.symbol, key.barSize, toFetch, now);
        await this.fetchAndStore(key, toFetch, now, options);
      }

      const { columns, fetchedAtMin, fetchedAtMax } = await this.read(key, request);
      const total = columns.ts.length;
      const rowsFromIbkr = toFetch.length === 0 ? 0 : countInRanges(columns.ts, toFetch);
      const hit = toFetch.length === 0;
      this.recordStats(key, hit, total - rowsFromIbkr, rowsFromIbkr, now, !hit);
      this.logger.info(hit ? 'cache hit' : 'cache miss', {
        symbol: key.symbol,
        barSize,
        dataType: key.dataType,
        mode,
        rows: total,
        rowsFromIbkr,
        fetched: toFetch.map(isoRange),
        stale: staleRanges.map(isoRange),
        ...(missingRanges.length > 0 ? { missing: missingRanges.map(isoRange) } : {}),
      });
      if (mode === 'cache-only' && missingRanges.length > 0) {
        this.logger.warn('offline replay: the cache does not cover the whole range (DEBUG_MODE, nothing fetched)', {
          symbol: key.symbol,
          missing: missingRanges.map(isoRange),
        });
      }
      return {
        columns,
        lineage: {
          symbol: key.symbol,
          barSize,
          rowsFromCache: total - rowsFromIbkr,
          rowsFromIbkr,
          fetchedRanges: toFetch,
          staleRanges,
          missingRanges,
          fetchedAtMin,
          fetchedAtMax,
          mode,
          hit,
        },
      };
    });
  }

  /** Cached bars of one series in [start, end), column by column. Never fetches. */
  async read(
    key: SeriesKey,
    range: Range,
  ): Promise<{ columns: BarColumns; fetchedAtMin: string | null; fetchedAtMax: string | null }> {
    if (range.end <= range.start) return { columns: emptyColumns(), fetchedAtMin: null, fetchedAtMax: null };
    const params = { ...seriesParams(key), from: range.start, to: range.end };
    const where = `${SERIES_WHERE} AND ts >= epoch_ms(CAST($from AS BIGINT)) AND ts < epoch_ms(CAST($to AS BIGINT))`;
    const conn = this.deps.warehouse.connection;
    const cols = await readFloat64Columns(
      conn,
      `SELECT epoch_ms(ts)::DOUBLE, open, high, low, close, volume FROM bars WHERE ${where} ORDER BY ts`,
      params,
      COLUMN_NAMES,
    );
    let fetchedAtMin: string | null = null;
    let fetchedAtMax: string | null = null;
    if (cols.rowCount > 0) {
      // Every bar carries the fetched_at of the coverage interval that wrote it, so the intervals
      // overlapping the range give the same answer as scanning the bars, at a fraction of the cost.
      const [agg] = await this.deps.warehouse.rows<{ lo: number | null; hi: number | null }>(
        `SELECT epoch_ms(min(fetched_at)) AS lo, epoch_ms(max(fetched_at)) AS hi FROM bar_coverage
          WHERE ${SERIES_WHERE} AND row_count > 0
            AND end_ts > epoch_ms(CAST($from AS BIGINT)) AND start_ts < epoch_ms(CAST($to AS BIGINT))`,
        params,
      );
      fetchedAtMin = agg.lo === null ? null : new Date(agg.lo).toISOString();
      fetchedAtMax = agg.hi === null ? null : new Date(agg.hi).toISOString();
    }
    const { rowCount: _rows, ...columns } = cols;
    return { columns, fetchedAtMin, fetchedAtMax };
  }

  /** The series' coverage intervals, oldest first. */
  async coverage(key: SeriesKey, conn?: DuckDBConnection): Promise<CoverageInterval[]> {
    return this.deps.warehouse.rows<CoverageInterval>(
      `SELECT epoch_ms(start_ts) AS start, epoch_ms(end_ts) AS "end", epoch_ms(fetched_at) AS "fetchedAt", row_count AS "rowCount",
              request_id AS "requestId"
         FROM bar_coverage WHERE ${SERIES_WHERE} ORDER BY start_ts`,
      seriesParams(key),
      conn,
    );
  }

  /**
   * Writes fetched bars and their coverage for one series in one transaction: cached bars between the first
   * and last bar of each range's answer are replaced (see `answeredSpans`; indicators of bars that still
   * exist are kept, those of bars that went are deleted), bars outside those spans are kept,
   * coverage intervals overlapping `ranges` are trimmed, and one interval per range records fetchedAt
   * and its row count.
   */
  async store(
    key: SeriesKey,
    ranges: readonly Range[],
    bars: readonly RawBar[],
    fetchedAt: number,
    requestId: string = newRequestId(),
  ): Promise<void> {
    const merged = mergeRanges(ranges);
    if (merged.length === 0) return;
    const sourceName = this.deps.sourceName ?? 'ibkr';
    await this.deps.warehouse.transaction(async (conn) => {
      await conn.run(
        `CREATE TEMP TABLE staged_bars (ts DOUBLE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, wap DOUBLE, bar_count DOUBLE)`,
      );
      const appender = await conn.createAppender('staged_bars', 'main', 'temp');
      for (const b of bars) {
        appender.appendDouble(b.ts);
        appender.appendDouble(b.open);
        appender.appendDouble(b.high);
        appender.appendDouble(b.low);
        appender.appendDouble(b.close);
        appender.appendDouble(Number.isFinite(b.volume) && b.volume >= 0 ? b.volume : Number.NaN);
        appender.appendDouble(Number.isFinite(b.wap) ? b.wap : Number.NaN);
        appender.appendDouble(Number.isFinite(b.count) ? b.count : Number.NaN);
        appender.endRow();
      }
      appender.flushSync();
      appender.closeSync();

      const params = { ...seriesParams(key), fetchedAt, requestId, source: sourceName };
      const answered = answeredSpans(merged, bars);
      if (answered.length > 0) {
        const inSpans = answered
          .map((r) => `(ts >= epoch_ms(CAST(${r.first} AS BIGINT)) AND ts <= epoch_ms(CAST(${r.last} AS BIGINT)))`)
          .join(' OR ');
        // Bars IBKR no longer reports between the first and last bar it sent go; the rest are replaced in place.
        const gone = await conn.run(
          `DELETE FROM bars WHERE ${SERIES_WHERE} AND (${inSpans})
             AND epoch_ms(ts) NOT IN (SELECT CAST(ts AS BIGINT) FROM temp.staged_bars)`,
          seriesParams(key),
        );
        // A history IBKR revised invalidates the series' pipeline indicators (marketdata/0006: one file a series;
        // every later EMA value depends on the bars that went): the next run writes them again.
        if (gone.rowsChanged > 0)
          await dropIndicatorFiles(conn, indicatorDir(this.deps.warehouse.path), SERIES_WHERE, seriesParams(key));
      }
      await conn.run(
        `INSERT INTO bars (symbol, exchange, data_type, bar_size, use_rth, ts, open, high, low, close, volume, wap, bar_count,
                           indicators, source, fetched_at, request_id)
         SELECT $symbol, $exchange, $dataType, $barSize, $useRTH, epoch_ms(CAST(s.ts AS BIGINT)), s.open, s.high, s.low, s.close,
                s.volume, CASE WHEN isnan(s.wap) THEN NULL ELSE s.wap END,
                CASE WHEN isnan(s.bar_count) THEN NULL ELSE CAST(s.bar_count AS BIGINT) END,
                NULL, $source, epoch_ms(CAST($fetchedAt AS BIGINT)), $requestId
           FROM temp.staged_bars s
         ON CONFLICT DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
           volume = excluded.volume, wap = excluded.wap, bar_count = excluded.bar_count, source = excluded.source,
           fetched_at = excluded.fetched_at, request_id = excluded.request_id`,
        params,
      );
      await conn.run('DROP TABLE temp.staged_bars');

      const before = await this.coverage(key, conn);
      const { kept, trimmed } = replaceCoverage(before, merged);
      await conn.run(`DELETE FROM bar_coverage WHERE ${SERIES_WHERE}`, seriesParams(key));
      const insert = (iv: CoverageInterval, countRows: boolean) =>
        conn.run(
          `INSERT INTO bar_coverage
             SELECT $symbol, $exchange, $dataType, $barSize, $useRTH, epoch_ms(CAST($start AS BIGINT)), epoch_ms(CAST($end AS BIGINT)),
                    epoch_ms(CAST($fetchedAt AS BIGINT)),
                    ${
                      countRows
                        ? `(SELECT count(*) FROM bars WHERE ${SERIES_WHERE}
                             AND ts >= epoch_ms(CAST($start AS BIGINT)) AND ts < epoch_ms(CAST($end AS BIGINT)))`
                        : 'CAST($rowCount AS BIGINT)'
                    },
                    $requestId`,
          {
            ...seriesParams(key),
            start: iv.start,
            end: iv.end,
            fetchedAt: iv.fetchedAt,
            ...(countRows ? {} : { rowCount: iv.rowCount }),
            requestId: iv.requestId ?? requestId,
          },
        );
      for (const iv of kept) await insert(iv, false);
      for (const iv of trimmed) await insert(iv, true);
      for (const r of merged) await insert({ ...r, fetchedAt, rowCount: 0, requestId }, true);
    });
  }

  /** Per series: rows, first/last bar, last update and hit rate. */
  async list(): Promise<CacheListEntry[]> {
    const bars = await this.deps.warehouse.rows<{
      symbol: string;
      exchange: string;
      data_type: string;
      bar_size: string;
      use_rth: boolean;
      rows: number;
      first: number | null;
      last: number | null;
    }>(
      `SELECT symbol, exchange, data_type, bar_size, use_rth, count(*) AS rows, epoch_ms(min(ts)) AS first, epoch_ms(max(ts)) AS last
         FROM bars GROUP BY ALL`,
    );
    const coverage = await this.deps.warehouse.rows<{
      symbol: string;
      exchange: string;
      data_type: string;
      bar_size: string;
      use_rth: boolean;
      intervals: number;
      updated: number;
    }>(
      `SELECT symbol, exchange, data_type, bar_size, use_rth, count(*) AS intervals, epoch_ms(max(fetched_at)) AS updated
         FROM bar_coverage GROUP BY ALL`,
    );
    const stats = this.deps.journal.db
      .prepare('SELECT symbol, exchange, data_type, bar_size, use_rth, hits, misses FROM cache_stats')
      .all() as {
      symbol: string;
      exchange: string;
      data_type: string;
      bar_size: string;
      use_rth: number;
      hits: number;
      misses: number;
    }[];
    const id = (r: { symbol: string; exchange: string; data_type: string; bar_size: string; use_rth: boolean | number }) =>
      `${r.symbol}|${r.exchange}|${r.data_type}|${r.bar_size}|${r.use_rth ? 1 : 0}`;
    const byId = new Map<string, CacheListEntry>();
    for (const c of coverage) {
      byId.set(id(c), {
        symbol: c.symbol,
        exchange: c.exchange,
        dataType: c.data_type,
        barSize: c.bar_size,
        useRTH: c.use_rth,
        rows: 0,
        firstTs: null,
        lastTs: null,
        lastUpdated: new Date(c.updated).toISOString(),
        coverageIntervals: c.intervals,
        hits: 0,
        misses: 0,
        hitRate: null,
      });
    }
    for (const b of bars) {
      const entry = byId.get(id(b));
      if (!entry) continue; // bars without coverage cannot exist (same transaction); skip defensively
      entry.rows = b.rows;
      entry.firstTs = b.first === null ? null : new Date(b.first).toISOString();
      entry.lastTs = b.last === null ? null : new Date(b.last).toISOString();
    }
    for (const s of stats) {
      const entry = byId.get(id(s));
      if (!entry) continue;
      entry.hits = s.hits;
      entry.misses = s.misses;
      entry.hitRate = s.hits + s.misses > 0 ? s.hits / (s.hits + s.misses) : null;
    }
    return [...byId.values()].sort(
      (a, b) => a.symbol.localeCompare(b.symbol) || a.dataType.localeCompare(b.dataType) || a.barSize.localeCompare(b.barSize),
    );
  }

  /** Deletes bars, coverage and counters of a symbol, a data type, a bar size, or everything. */
  async clear(filter: ClearFilter): Promise<{ rows: number; intervals: number }> {
    const conds: string[] = [];
    const params: Record<string, string> = {};
    if (filter.symbol) {
      conds.push('symbol = $symbol');
      params.symbol = filter.symbol.trim().toUpperCase();
    }
    if (filter.dataType) {
      conds.push('data_type = $dataType');
      params.dataType = filter.dataType;
    }
    if (filter.barSize) {
      conds.push('bar_size = $barSize');
      params.barSize = filter.barSize;
    }
    if (conds.length === 0 && !filter.all) {
      throw new AppError('invalid_input', 'cache.clear needs a symbol, a data type, a bar size, or all: true', { status: 400 });
    }
    const where = conds.length > 0 ? conds.join(' AND ') : 'true';
    const result = await this.deps.warehouse.transaction(async (conn) => {
      const [{ n: rows }] = await this.deps.warehouse.rows<{ n: number }>(
        `SELECT count(*) AS n FROM bars WHERE ${where}`,
        params,
        conn,
      );
      const [{ n: intervals }] = await this.deps.warehouse.rows<{ n: number }>(
        `SELECT count(*) AS n FROM bar_coverage WHERE ${where}`,
        params,
        conn,
      );
      await conn.run(`DELETE FROM bars WHERE ${where}`, params);
      await dropIndicatorFiles(conn, indicatorDir(this.deps.warehouse.path), where, params);
      await conn.run(`DELETE FROM bar_coverage WHERE ${where}`, params);
      return { rows, intervals };
    });
    const jWhere = conds.map((c) => c.replace(/\$(\w+)/, '@$1')).join(' AND ') || '1';
    this.deps.journal.db.prepare(`DELETE FROM cache_stats WHERE ${jWhere}`).run(params);
    this.logger.info('cache cleared', { ...filter, ...result });
    return result;
  }

  private async fetchAndStore(key: SeriesKey, ranges: Range[], fetchedAt: number, options: GetOrFetchOptions): Promise<number> {
    const source = this.deps.source();
    if (!source) {
      throw new IbkrError('IBKR_UNAVAILABLE', 'No IBKR connection is configured, so bars cannot be fetched', 502);
    }
    const requestId = newRequestId();
    const bars: RawBar[] = [];
    // Pieces that arrived, kept if a later one fails: a long fetch cut short resumes where it stopped.
    const arrived: { range: Range; bars: RawBar[] }[] = [];
    const onPiece = (range: Range, got: RawBar[]) => arrived.push({ range, bars: got.filter(isValidBar) });
    for (const range of ranges) {
      options.signal?.throwIfAborted();
      const got = await source
        .fetchBars(
          {
            symbol: key.symbol,
            exchange: key.exchange,
            barSize: key.barSize,
            whatToShow: key.dataType,
            useRTH: key.useRTH,
            start: range.start,
            end: range.end,
          },
          {
            signal: options.signal,
            onPiece,
            onProgress: options.onProgress
              ? (p) => options.onProgress?.({ symbol: key.symbol, done: p.done, total: p.total, retrying: p.retrying })
              : undefined,
          },
        )
        .catch(async (err: unknown) => {
          await this.keepArrived(key, arrived, fetchedAt, requestId);
          throw err;
        });
      for (const b of got) if (b.ts >= range.start && b.ts < range.end && isValidBar(b)) bars.push(b);
    }
    const unique = dedupeByTs(bars);
    await this.store(key, ranges, unique, fetchedAt, requestId);
    return unique.length;
  }

  /** Stores the pieces of a failed fetch that did arrive; never hides the fetch's own error. */
  private async keepArrived(
    key: SeriesKey,
    arrived: readonly { range: Range; bars: RawBar[] }[],
    fetchedAt: number,
    requestId: string,
  ): Promise<void> {
    if (arrived.length === 0) return;
    const ranges = arrived.map((a) => a.range);
    try {
      await this.store(key, ranges, dedupeByTs(arrived.flatMap((a) => a.bars)), fetchedAt, requestId);
      this.logger.info('fetch cut short: kept the pieces that arrived', {
        symbol: key.symbol,
        barSize: key.barSize,
        kept: mergeRanges(ranges).map(isoRange),
      });
    } catch (err) {
      this.logger.warn('fetch cut short: could not keep the pieces that arrived', {
        symbol: key.symbol,
        error: errorMessage(err),
      });
    }
  }

  private recordStats(key: SeriesKey, hit: boolean, fromCache: number, fromIbkr: number, now: number, fetched: boolean): void {
    const at = new Date(now).toISOString();
    this.deps.journal.db
      .prepare(
        `INSERT INTO cache_stats (symbol, exchange, data_type, bar_size, use_rth, hits, misses, rows_from_cache, rows_from_ibkr,
                                  last_access_at, last_fetch_at)
         VALUES (@symbol, @exchange, @dataType, @barSize, @useRTH, @hits, @misses, @fromCache, @fromIbkr, @at, @fetchAt)
         ON CONFLICT DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses,
           rows_from_cache = rows_from_cache + excluded.rows_from_cache, rows_from_ibkr = rows_from_ibkr + excluded.rows_from_ibkr,
           last_access_at = excluded.last_access_at, last_fetch_at = coalesce(excluded.last_fetch_at, last_fetch_at)`,
      )
      .run({
        ...key,
        useRTH: key.useRTH ? 1 : 0,
        hits: hit ? 1 : 0,
        misses: hit ? 0 : 1,
        fromCache,
        fromIbkr,
        at,
        fetchAt: fetched ? at : null,
      });
  }

  /** Counters of one series (tests and the UI). */
  stats(key: SeriesKey): {
    hits: number;
    misses: number;
    rowsFromCache: number;
    rowsFromIbkr: number;
    lastFetchAt: string | null;
  } {
    const row = this.deps.journal.db
      .prepare(
        `SELECT hits, misses, rows_from_cache AS rowsFromCache, rows_from_ibkr AS rowsFromIbkr, last_fetch_at AS lastFetchAt
           FROM cache_stats WHERE symbol = ? AND exchange = ? AND data_type = ? AND bar_size = ? AND use_rth = ?`,
      )
      .get(key.symbol, key.exchange, key.dataType, key.barSize, key.useRTH ? 1 : 0) as
      | { hits: number; misses: number; rowsFromCache: number; rowsFromIbkr: number; lastFetchAt: string | null }
      | undefined;
    return row ?? { hits: 0, misses: 0, rowsFromCache: 0, rowsFromIbkr: 0, lastFetchAt: null };
  }

  private async withSeriesLock<T>(key: SeriesKey, fn: () => Promise<T>): Promise<T> {
    const id = `${key.symbol}|${key.exchange}|${key.dataType}|${key.barSize}|${key.useRTH}`;
    const previous = this.locks.get(id) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }
}

const SERIES_WHERE =
  'symbol = $symbol AND exchange = $exchange AND data_type = $dataType AND bar_size = $barSize AND use_rth = $useRTH';

function seriesParams(key: SeriesKey): Record<string, string | boolean> {
  return { symbol: key.symbol, exchange: key.exchange, dataType: key.dataType, barSize: key.barSize, useRTH: key.useRTH };
}

/** IBKR requests one fetch may take (small bars are paced to 60 per 10 minutes: this is already hours). */
export const MAX_REQUESTS_PER_FETCH = 2_000;

/** IBKR keeps bars of 30 seconds or less for six months (IBKR-NOTES, pacing). */
const SMALL_BAR_HISTORY_MS = 182 * 86_400_000;

/**
 * Refuses a fetch IBKR cannot serve or that would take more than MAX_REQUESTS_PER_FETCH requests, before any is
 * planned piece by piece: one-second bars since year 1 would otherwise split into tens of millions of pieces and
 * exhaust the memory, and bars of 30 s or less older than six months would only spend paced requests on refusals.
 */
export function checkFetch(symbol: string, barSize: BarSize, ranges: readonly Range[], now: number): void {
  const key = { symbol, barSize };
  const oldest = now - SMALL_BAR_HISTORY_MS;
  if (isSmallBar(key.barSize) && ranges[0].start < oldest) {
    throw new AppError(
      'TOO_OLD_FOR_BAR_SIZE',
      `IBKR has no ${key.barSize} bars older than six months: fetch ${key.symbol} from ${new Date(oldest).toISOString().slice(0, 10)} on, or use 1-minute bars or larger`,
      { status: 400 },
    );
  }
  const span = maxDuration(key.barSize).ms;
  const requests = ranges.reduce((n, r) => n + Math.ceil((r.end - r.start) / span), 0);
  if (requests > MAX_REQUESTS_PER_FETCH) {
    const [first, last] = [ranges[0].start, ranges[ranges.length - 1].end].map((t) => new Date(t).toISOString().slice(0, 10));
    throw new AppError(
      'RANGE_TOO_LONG',
      `Fetching ${key.symbol} ${key.barSize} bars from ${first} to ${last} would take ${requests} IBKR requests (at most ${MAX_REQUESTS_PER_FETCH} at once): narrow the range or use a larger bar size`,
      { status: 400 },
    );
  }
}

function toMs(value: number | Date, name: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms)) throw new AppError('invalid_input', `${name} is not a valid time`, { status: 400 });
  return ms;
}

export function emptyColumns(): BarColumns {
  return {
    ts: new Float64Array(0),
    open: new Float64Array(0),
    high: new Float64Array(0),
    low: new Float64Array(0),
    close: new Float64Array(0),
    volume: new Float64Array(0),
  };
}

function countInRanges(ts: Float64Array, ranges: readonly Range[]): number {
  let n = 0;
  for (let i = 0; i < ts.length; i++) {
    for (const r of ranges) {
      if (ts[i] >= r.start && ts[i] < r.end) {
        n++;
        break;
      }
    }
  }
  return n;
}

function isValidBar(b: RawBar): boolean {
  return Number.isFinite(b.ts) && [b.open, b.high, b.low, b.close].every(Number.isFinite);
}

function dedupeByTs(bars: RawBar[]): RawBar[] {
  const byTs = new Map<number, RawBar>();
  for (const b of bars) byTs.set(b.ts, b);
  return [...byTs.values()].sort((a, b) => a.ts - b.ts);
}

function isoRange(r: Range): string {
  return `${new Date(r.start).toISOString()}..${new Date(r.end).toISOString()}`;
}

export function newRequestId(): string {
  return `req-${randomUUID().slice(0, 8)}`;
}

export type { CacheDataType };

/**
 * Per fetched range, the span from the first to the last bar IBKR sent in it. Only there does a re-fetch
 * replace what the cache holds: a "no data" answer, or one that stops short of the range's ends (HMDS has
 * nothing that far back any more, a session not over yet), says nothing about the bars cached outside it.
 */
function answeredSpans(ranges: readonly Range[], bars: readonly RawBar[]): { first: number; last: number }[] {
  // `ranges` are merged (sorted, disjoint): one pass over the bars, each placed by binary search.
  const first = ranges.map(() => Number.POSITIVE_INFINITY);
  const last = ranges.map(() => Number.NEGATIVE_INFINITY);
  for (const b of bars) {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ranges[mid].start <= b.ts) lo = mid;
      else hi = mid - 1;
    }
    const r = ranges[lo];
    if (r === undefined || b.ts < r.start || b.ts >= r.end) continue;
    if (b.ts < first[lo]) first[lo] = b.ts;
    if (b.ts > last[lo]) last[lo] = b.ts;
  }
  return ranges.flatMap((_, i) => (first[i] <= last[i] ? [{ first: Math.round(first[i]), last: Math.round(last[i]) }] : []));
}
