/**
 * Integrity checks per source (GEX snapshots, bars, option trades, alerts). Each check returns a
 * finding: pass / warn / fail / skipped, a count and up to MAX_ROWS offending rows. Checks read the
 * warehouse only; a table that does not exist (its capability is not installed yet) is skipped
 * with a note, never an error.
 */
import { DAY_MS, isTradingDay, sessionBounds } from '../calendar';
import type { HistoricalSource } from '../ibkr/types';
import { errorMessage } from '../platform';
import type { Warehouse } from '../storage';

export const INTEGRITY_SOURCES = ['gex', 'bars', 'option_trades', 'alerts'] as const;
export type IntegritySource = (typeof INTEGRITY_SOURCES)[number];

export interface Finding {
  source: string;
  check: string;
  status: 'pass' | 'warn' | 'fail' | 'skipped';
  count: number;
  message: string;
  table: string | null;
  rows: Record<string, unknown>[];
}

export interface CheckScope {
  tickers?: string[] | null;
  from?: string | null;
  to?: string | null;
}

export interface CheckContext {
  warehouse: Warehouse;
  scope: CheckScope;
  /** Bars spot check: the live source, when connected (not in debug mode). */
  historicalSource?: () => HistoricalSource | undefined;
  random?: () => number;
}

export const MAX_ROWS = 20;
/** GEX strikes further than this fraction from spot are suspicious. */
const FAR_STRIKE = 0.5;
const GEX_JUMP = 0.05;
const BAR_JUMP = 0.25;

const jsonSafe = (rows: Record<string, unknown>[]) =>
  rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      out[k] =
        typeof v === 'bigint'
          ? Number(v)
          : v instanceof Date
            ? v.toISOString()
            : v !== null && typeof v === 'object'
              ? String(v)
              : v;
    }
    return out;
  });

async function tableExists(w: Warehouse, table: string): Promise<boolean> {
  const r = await w.rows<{ n: number }>(
    "SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $1",
    [table],
  );
  return (r[0]?.n ?? 0) > 0;
}

/** Runs a counting query and a sampling query that share one WHERE/HAVING body. */
async function sqlFinding(
  ctx: CheckContext,
  f: { source: string; check: string; table: string; failAs: 'warn' | 'fail'; message: (n: number) => string; sql: string },
): Promise<Finding> {
  const [{ n }] = await ctx.warehouse.rows<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM (${f.sql})`);
  const rows = n > 0 ? jsonSafe(await ctx.warehouse.rows(`SELECT * FROM (${f.sql}) LIMIT ${MAX_ROWS}`)) : [];
  return {
    source: f.source,
    check: f.check,
    table: f.table,
    status: n > 0 ? f.failAs : 'pass',
    count: n,
    message: f.message(n),
    rows,
  };
}

function scopeWhere(scope: CheckScope, keyCol: string, timeCol: string): string {
  const parts: string[] = [];
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  if (scope.tickers && scope.tickers.length > 0) parts.push(`${keyCol} IN (${scope.tickers.map(q).join(', ')})`);
  if (scope.from) parts.push(`${timeCol} >= ${q(scope.from)}::TIMESTAMP`);
  if (scope.to) parts.push(`${timeCol} <= ${q(scope.to)}::TIMESTAMP`);
  return parts.length > 0 ? parts.join(' AND ') : 'TRUE';
}

const skipped = (source: string, table: string, why: string): Finding => ({
  source,
  check: 'table',
  status: 'skipped',
  count: 0,
  message: why,
  table,
  rows: [],
});

export async function runSourceChecks(source: IntegritySource, ctx: CheckContext): Promise<Finding[]> {
  switch (source) {
    case 'gex':
      return gexChecks(ctx);
    case 'bars':
      return barChecks(ctx);
    case 'option_trades':
      return optionTradeChecks(ctx);
    case 'alerts':
      return alertChecks(ctx);
  }
}

async function gexChecks(ctx: CheckContext): Promise<Finding[]> {
  const w = ctx.warehouse;
  if (!(await tableExists(w, 'gex_snapshots'))) return [skipped('gex', 'gex_snapshots', 'gex_snapshots does not exist yet')];
  const where = scopeWhere(ctx.scope, 'ticker', 'ts');
  const out: Finding[] = [];
  out.push(
    await sqlFinding(ctx, {
      source: 'gex',
      check: 'duplicates',
      table: 'gex_snapshots',
      failAs: 'fail',
      message: (n) => (n ? `${n} (ticker, category, timestamp) keys appear more than once` : 'no duplicate snapshots'),
      sql: `SELECT ticker, category, ts, count(*) AS copies FROM gex_snapshots WHERE ${where} GROUP BY ALL HAVING count(*) > 1`,
    }),
  );
  if (await tableExists(w, 'gex_strikes')) {
    out.push(
      await sqlFinding(ctx, {
        source: 'gex',
        check: 'duplicate strikes',
        table: 'gex_strikes',
        failAs: 'fail',
        message: (n) => (n ? `${n} strike keys appear more than once` : 'no duplicate strike rows'),
        sql: `SELECT ticker, category, ts, expiry, strike, count(*) AS copies FROM gex_strikes WHERE ${where} GROUP BY ALL HAVING count(*) > 1`,
      }),
    );
  }
  out.push(
    await sqlFinding(ctx, {
      source: 'gex',
      check: 'monotonic timestamps',
      table: 'gex_snapshots',
      failAs: 'warn',
      message: (n) =>
        n
          ? `${n} writes from one source went back in time (older snapshots after newer ones)`
          : 'each source writes increasing timestamps',
      // One group per write (a webhook event, or a whole import job): a write whose oldest snapshot
      // is older than the newest of an earlier write from the same source arrived out of order.
      sql: `SELECT ticker, category, source, written_at, min_ts AS ts, prev_max_ts FROM (
              SELECT *, max(max_ts) OVER (PARTITION BY ticker, category, source ORDER BY written_at
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_max_ts
              FROM (SELECT ticker, category, source, written_at, min(ts) AS min_ts, max(ts) AS max_ts
                    FROM gex_snapshots WHERE ${where} GROUP BY ALL))
            WHERE min_ts < prev_max_ts ORDER BY written_at`,
    }),
  );
  out.push(
    await sqlFinding(ctx, {
      source: 'gex',
      check: 'zero or negative values',
      table: 'gex_snapshots',
      failAs: 'fail',
      message: (n) =>
        n ? `${n} snapshots have a missing, zero or negative spot or zero-gamma level` : 'spot and zero gamma are positive',
      sql: `SELECT ticker, category, ts, spot, zero_gamma FROM gex_snapshots
            WHERE ${where} AND (spot IS NULL OR spot <= 0 OR zero_gamma <= 0) ORDER BY ts`,
    }),
  );
  out.push(
    await sqlFinding(ctx, {
      source: 'gex',
      check: 'price jumps',
      table: 'gex_snapshots',
      failAs: 'warn',
      message: (n) => (n ? `${n} consecutive snapshots move spot by more than ${GEX_JUMP * 100}%` : 'no spot jumps'),
      sql: `SELECT ticker, category, ts, prev_ts, prev_spot, spot, round(abs(spot / prev_spot - 1) * 100, 2) AS move_pct FROM (
              SELECT ticker, category, ts, spot, lag(ts) OVER w AS prev_ts, lag(spot) OVER w AS prev_spot
              FROM gex_snapshots WHERE ${where} WINDOW w AS (PARTITION BY ticker, category ORDER BY ts))
            WHERE prev_spot > 0 AND spot > 0 AND abs(spot / prev_spot - 1) > ${GEX_JUMP} ORDER BY ts`,
    }),
  );
  if (await tableExists(w, 'gex_strikes')) {
    const sw = scopeWhere(ctx.scope, 'k.ticker', 'k.ts');
    out.push(
      await sqlFinding(ctx, {
        source: 'gex',
        check: 'strikes far from spot',
        table: 'gex_strikes',
        failAs: 'warn',
        message: (n) =>
          n ? `${n} strike rows are more than ${FAR_STRIKE * 100}% away from spot, or not positive` : 'strikes are near spot',
        sql: `SELECT k.ticker, k.category, k.ts, k.strike, s.spot FROM gex_strikes k
              JOIN gex_snapshots s USING (ticker, category, ts)
              WHERE ${sw} AND (k.strike <= 0 OR (s.spot > 0 AND abs(k.strike / s.spot - 1) > ${FAR_STRIKE})) ORDER BY k.ts, k.strike`,
      }),
    );
  }
  out.push(await gexGaps(ctx, where));
  out.push({
    source: 'gex',
    check: 'spot check vs source',
    table: 'gex_snapshots',
    status: 'skipped',
    count: 0,
    message: 'GEX snapshots are pushed to us (webhook, history files); there is no source to re-fetch them from',
    rows: [],
  });
  return out;
}

/** GEX is expected every minute in regular market hours on every trading day of the series' span. */
async function gexGaps(ctx: CheckContext, where: string): Promise<Finding> {
  const series = await ctx.warehouse.rows<{ ticker: string; category: string; ts: number[] }>(
    `SELECT ticker, category, list(epoch_ms(ts) ORDER BY ts) AS ts FROM gex_snapshots WHERE ${where} GROUP BY ALL ORDER BY ALL`,
  );
  const rows: Record<string, unknown>[] = [];
  let count = 0;
  const cadence = 60_000;
  const tolerance = 2 * cadence;
  const add = (r: Record<string, unknown>) => {
    count++;
    if (rows.length < MAX_ROWS) rows.push(r);
  };
  for (const s of series) {
    const ts = s.ts.map(Number);
    if (ts.length === 0) continue;
    const byDay = new Map<number, number[]>();
    for (const t of ts) {
      const day = Math.floor((t - 5 * 3_600_000) / DAY_MS); // NY date, close enough for grouping
      for (const d of [day, day + 1]) {
        const { open, close } = sessionBounds(d, true);
        if (t >= open && t < close && isTradingDay(d)) {
          const list = byDay.get(d) ?? [];
          list.push(t);
          byDay.set(d, list);
        }
      }
    }
    const days = [...byDay.keys()].sort((a, b) => a - b);
    if (days.length === 0) continue;
    for (let d = days[0] as number; d <= (days[days.length - 1] as number); d++) {
      if (!isTradingDay(d)) continue;
      const { open, close } = sessionBounds(d, true);
      const list = byDay.get(d);
      const date = new Date(d * DAY_MS).toISOString().slice(0, 10);
      if (!list) {
        add({
          ticker: s.ticker,
          category: s.category,
          date,
          from: new Date(open).toISOString(),
          to: new Date(close).toISOString(),
          missing_minutes: Math.round((close - open) / 60_000),
        });
        continue;
      }
      let prev = open - cadence;
      for (const t of [...list, close]) {
        if (t - prev > tolerance) {
          add({
            ticker: s.ticker,
            category: s.category,
            date,
            from: new Date(prev).toISOString(),
            to: new Date(t).toISOString(),
            missing_minutes: Math.round((t - prev) / cadence) - 1,
          });
        }
        prev = t;
      }
    }
  }
  return {
    source: 'gex',
    check: 'gaps (1-minute cadence, market hours)',
    table: 'gex_snapshots',
    status: count > 0 ? 'warn' : 'pass',
    count,
    message: count ? `${count} gaps longer than 2 minutes in regular trading hours` : 'a snapshot every minute of every session',
    rows,
  };
}

async function barChecks(ctx: CheckContext): Promise<Finding[]> {
  const w = ctx.warehouse;
  if (!(await tableExists(w, 'bars'))) return [skipped('bars', 'bars', 'bars does not exist yet')];
  const where = scopeWhere(ctx.scope, 'symbol', 'ts');
  const out: Finding[] = [];
  out.push(
    await sqlFinding(ctx, {
      source: 'bars',
      check: 'duplicates',
      table: 'bars',
      failAs: 'fail',
      message: (n) => (n ? `${n} bar keys appear more than once` : 'no duplicate bars'),
      sql: `SELECT symbol, exchange, data_type, bar_size, use_rth, ts, count(*) AS copies FROM bars WHERE ${where} GROUP BY ALL HAVING count(*) > 1`,
    }),
  );
  out.push(
    await sqlFinding(ctx, {
      source: 'bars',
      check: 'zero or negative values',
      table: 'bars',
      failAs: 'fail',
      message: (n) =>
        n
          ? `${n} bars have non-positive prices, negative volume or high/low that do not bound open/close`
          : 'OHLC values are consistent',
      sql: `SELECT symbol, bar_size, ts, open, high, low, close, volume FROM bars WHERE ${where} AND data_type = 'TRADES' AND (
              open <= 0 OR high <= 0 OR low <= 0 OR close <= 0 OR volume < 0
              OR high < greatest(open, close) OR low > least(open, close)) ORDER BY ts`,
    }),
  );
  out.push(
    await sqlFinding(ctx, {
      source: 'bars',
      check: 'price jumps',
      table: 'bars',
      failAs: 'warn',
      message: (n) => (n ? `${n} bars close more than ${BAR_JUMP * 100}% away from the previous close` : 'no price jumps'),
      sql: `SELECT symbol, bar_size, ts, prev_close, close FROM (
              SELECT symbol, bar_size, ts, close, lag(close) OVER (PARTITION BY symbol, exchange, data_type, bar_size, use_rth ORDER BY ts) AS prev_close
              FROM bars WHERE ${where}) WHERE prev_close > 0 AND abs(close / prev_close - 1) > ${BAR_JUMP} ORDER BY ts`,
    }),
  );
  out.push(await dailyBarGaps(ctx, where));
  out.push(await barSpotCheck(ctx, where));
  return out;
}

async function dailyBarGaps(ctx: CheckContext, where: string): Promise<Finding> {
  const series = await ctx.warehouse.rows<{ symbol: string; days: number[] }>(
    `SELECT symbol, list(DISTINCT (epoch_ms(ts) // ${DAY_MS})::BIGINT) AS days FROM bars
     WHERE ${where} AND bar_size = '1 day' GROUP BY symbol ORDER BY symbol`,
  );
  const rows: Record<string, unknown>[] = [];
  let count = 0;
  for (const s of series) {
    const have = new Set(s.days.map(Number));
    const sorted = [...have].sort((a, b) => a - b);
    for (let d = sorted[0] as number; d <= (sorted[sorted.length - 1] as number); d++) {
      if (isTradingDay(d) && !have.has(d)) {
        count++;
        if (rows.length < MAX_ROWS)
          rows.push({ symbol: s.symbol, missing_date: new Date(d * DAY_MS).toISOString().slice(0, 10) });
      }
    }
  }
  return {
    source: 'bars',
    check: 'gaps (trading calendar, daily bars)',
    table: 'bars',
    status: count > 0 ? 'warn' : 'pass',
    count,
    message: count ? `${count} trading days missing between the first and last daily bar` : 'every trading day has a daily bar',
    rows,
  };
}

async function barSpotCheck(ctx: CheckContext, where: string): Promise<Finding> {
  const base = { source: 'bars', check: 'spot check vs source', table: 'bars' };
  const source = ctx.historicalSource?.();
  if (!source)
    return { ...base, status: 'skipped', count: 0, message: 'no historical source connected (or debug mode)', rows: [] };
  const sample = await ctx.warehouse.rows<{
    symbol: string;
    exchange: string;
    data_type: string;
    bar_size: string;
    use_rth: boolean;
    t: number;
    open: number;
    high: number;
    low: number;
    close: number;
  }>(
    // Filter first, then sample: `USING SAMPLE` on the FROM samples the whole table before WHERE, so among
    // thousands of intraday bars it almost never held a daily one.
    `SELECT * FROM (
       SELECT symbol, exchange, data_type, bar_size, use_rth, epoch_ms(ts) AS t, open, high, low, close FROM bars
        WHERE ${where} AND bar_size = '1 day' AND data_type = 'TRADES'
     ) USING SAMPLE reservoir(3 ROWS)`,
  );
  if (sample.length === 0) return { ...base, status: 'skipped', count: 0, message: 'no daily TRADES bars to sample', rows: [] };
  const rows: Record<string, unknown>[] = [];
  let compared = 0;
  try {
    for (const bar of sample) {
      const t = Number(bar.t);
      const fetched = await withTimeout(
        source.fetchBars({
          symbol: bar.symbol,
          exchange: bar.exchange,
          barSize: '1 day',
          whatToShow: 'TRADES',
          useRTH: bar.use_rth,
          start: t,
          end: t + DAY_MS,
        }),
        15_000,
      );
      const live = fetched.find((b) => b.ts === t);
      compared++;
      const off = (a: number, b: number) => Math.abs(a - b) > Math.max(0.01, Math.abs(b) * 0.005);
      if (!live || off(bar.close, live.close) || off(bar.open, live.open) || off(bar.high, live.high) || off(bar.low, live.low)) {
        rows.push({
          symbol: bar.symbol,
          ts: new Date(t).toISOString(),
          stored_close: bar.close,
          source_close: live?.close ?? null,
          problem: live ? 'values differ' : 'bar missing at source',
        });
      }
    }
  } catch (err) {
    return { ...base, status: 'skipped', count: 0, message: `source not reachable: ${errorMessage(err)}`, rows: [] };
  }
  return {
    ...base,
    status: rows.length > 0 ? 'fail' : 'pass',
    count: rows.length,
    message: rows.length
      ? `${rows.length} of ${compared} sampled bars differ from the source`
      : `${compared} sampled bars match the source`,
    rows,
  };
}

async function optionTradeChecks(ctx: CheckContext): Promise<Finding[]> {
  if (!(await tableExists(ctx.warehouse, 'option_trades')))
    return [skipped('option_trades', 'option_trades', 'option_trades does not exist yet')];
  const where = scopeWhere(ctx.scope, 'ticker', 'executed_at');
  return [
    await sqlFinding(ctx, {
      source: 'option_trades',
      check: 'duplicates',
      table: 'option_trades',
      failAs: 'warn',
      message: (n) =>
        n ? `${n} trades appear under more than one id (same contract, time, price and size)` : 'no duplicate trades',
      sql: `SELECT option_symbol, executed_at, price, size, count(*) AS copies, list(id) AS ids FROM option_trades
            WHERE ${where} GROUP BY option_symbol, executed_at, price, size HAVING count(*) > 1`,
    }),
    await sqlFinding(ctx, {
      source: 'option_trades',
      check: 'zero or negative values',
      table: 'option_trades',
      failAs: 'fail',
      message: (n) => (n ? `${n} trades have a non-positive price, size or strike` : 'prices, sizes and strikes are positive'),
      sql: `SELECT id, option_symbol, executed_at, price, size, strike FROM option_trades
            WHERE ${where} AND (price <= 0 OR size <= 0 OR strike <= 0)`,
    }),
    await sqlFinding(ctx, {
      source: 'option_trades',
      check: 'strikes far from spot',
      table: 'option_trades',
      failAs: 'warn',
      message: (n) => (n ? `${n} trades have a strike more than 100% away from the underlying price` : 'strikes are plausible'),
      sql: `SELECT id, option_symbol, strike, underlying_price FROM option_trades
            WHERE ${where} AND underlying_price > 0 AND abs(strike / underlying_price - 1) > 1`,
    }),
    await sqlFinding(ctx, {
      source: 'option_trades',
      check: 'missing timestamps',
      table: 'option_trades',
      failAs: 'warn',
      message: (n) => (n ? `${n} trades have no execution time` : 'every trade has an execution time'),
      sql: `SELECT id, option_symbol, event_id FROM option_trades WHERE ${scopeWhere({ tickers: ctx.scope.tickers }, 'ticker', 'executed_at')} AND executed_at IS NULL`,
    }),
  ];
}

async function alertChecks(ctx: CheckContext): Promise<Finding[]> {
  if (!(await tableExists(ctx.warehouse, 'alerts'))) return [skipped('alerts', 'alerts', 'alerts does not exist yet')];
  const where = scopeWhere(ctx.scope, 'ticker', 'received_at');
  return [
    await sqlFinding(ctx, {
      source: 'alerts',
      check: 'duplicates',
      table: 'alerts',
      failAs: 'warn',
      message: (n) =>
        n ? `${n} alerts were stored more than once (same ticker, fire time, action and message)` : 'no duplicate alerts',
      sql: `SELECT ticker, fired_at, action, message, count(*) AS copies FROM alerts
            WHERE ${where} AND fired_at IS NOT NULL GROUP BY ALL HAVING count(*) > 1`,
    }),
    await sqlFinding(ctx, {
      source: 'alerts',
      check: 'monotonic timestamps',
      table: 'alerts',
      failAs: 'warn',
      message: (n) => (n ? `${n} alerts fired before the bar they refer to opened` : 'fire times follow bar times'),
      sql: `SELECT event_id, ticker, bar_time, fired_at FROM alerts WHERE ${where} AND fired_at < bar_time`,
    }),
    await sqlFinding(ctx, {
      source: 'alerts',
      check: 'zero or negative values',
      table: 'alerts',
      failAs: 'warn',
      message: (n) => (n ? `${n} alerts carry a zero or negative price` : 'alert prices are positive'),
      sql: `SELECT event_id, ticker, price, received_at FROM alerts WHERE ${where} AND price <= 0`,
    }),
  ];
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
