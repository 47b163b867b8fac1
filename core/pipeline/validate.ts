/**
 * Data-quality checks over one symbol's bar columns, in single passes over typed arrays.
 * Errors (bad prices, inconsistent OHLC, nulls, duplicates) fail the run; gaps against the trading
 * calendar and return outliers are warnings: real data has halts and news days. Intraday, the return
 * into a session's first bar (the overnight gap) is left out of the outlier statistics and check.
 */
import { DAY_MS, isTradingDay, newYorkOffsetMinutes, sessionBounds } from '../calendar';
import type { BarSize } from '../ibkr/types';
import type { BarColumns } from '../marketdata/types';

export type CheckSeverity = 'error' | 'warning';

export interface CheckResult {
  check: string;
  severity: CheckSeverity;
  passed: boolean;
  failures: number;
  /** A few offending bars: ts (ISO) and what was wrong. */
  examples: { ts: string | null; detail: string }[];
}

export interface SymbolReport {
  symbol: string;
  rows: number;
  passed: boolean;
  checks: CheckResult[];
}

export interface ValidationReport {
  passed: boolean;
  checksPassed: number;
  checksFailed: number;
  warnings: number;
  symbols: SymbolReport[];
}

export const REQUIRED_COLUMNS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;

const MAX_EXAMPLES = 5;

export function barSizeMs(barSize: BarSize): number {
  const m = /^(\d+) (sec|secs|min|mins|hour|hours|day|week|month)$/.exec(barSize);
  if (!m) return DAY_MS;
  const n = Number(m[1]);
  const unit = m[2].replace(/s$/, '');
  const ms: Record<string, number> = {
    sec: 1000,
    min: 60_000,
    hour: 3_600_000,
    day: DAY_MS,
    week: 7 * DAY_MS,
    month: 30 * DAY_MS,
  };
  return n * ms[unit];
}

/** Epoch day of the New York trading date a bar belongs to (daily bars are stamped 00:00 UTC). */
function tradingDayFn(daily: boolean): (ts: number) => number {
  if (daily) return (ts) => Math.floor(ts / DAY_MS);
  // The New York offset changes twice a year: remember it per UTC day instead of recomputing per bar.
  let cachedUtcDay = Number.NaN;
  let cachedOffset = 0;
  return (ts) => {
    const utcDay = Math.floor(ts / DAY_MS);
    if (utcDay !== cachedUtcDay) {
      cachedUtcDay = utcDay;
      cachedOffset = newYorkOffsetMinutes(utcDay) * 60_000;
    }
    return Math.floor((ts - cachedOffset) / DAY_MS);
  };
}

class Collector {
  failures = 0;
  examples: CheckResult['examples'] = [];
  constructor(
    readonly check: string,
    readonly severity: CheckSeverity,
  ) {}
  add(ts: number | null, detail: string): void {
    this.failures++;
    if (this.examples.length < MAX_EXAMPLES) {
      this.examples.push({ ts: ts !== null && Number.isFinite(ts) ? new Date(ts).toISOString() : null, detail });
    }
  }
  addMany(count: number, ts: number | null, detail: string): void {
    this.add(ts, detail);
    this.failures += count - 1;
  }
  result(): CheckResult {
    return {
      check: this.check,
      severity: this.severity,
      passed: this.failures === 0,
      failures: this.failures,
      examples: this.examples,
    };
  }
}

export interface ValidateOptions {
  barSize: BarSize;
  outlierZ: number;
  /** Non-TRADES series carry no volume (NaN): skip the volume checks. */
  hasVolume?: boolean;
  /**
   * The session the intraday bars cover (true: 09:30–16:00, false: 04:00–20:00 New York, shorter on early
   * closes). Given, a day's bars must also reach from the open to the close: the bars missing at either end
   * count as gaps (except before the first bar and after the last one, where the range may cut the session).
   */
  useRTH?: boolean;
  /**
   * The range the run asked for (epoch ms, `to` exclusive) and the moment of the check: the trading days of the
   * range before the first bar and after the last one (up to yesterday: today's bar may not exist yet) count as gaps.
   */
  range?: { from: number; to: number; now: number };
}

export function validateSymbol(symbol: string, cols: Partial<BarColumns>, options: ValidateOptions): SymbolReport {
  const missing = REQUIRED_COLUMNS.filter((c) => !(cols[c] instanceof Float64Array));
  const required = new Collector('required_columns', 'error');
  for (const c of missing) required.add(null, `column ${c} is missing`);
  if (missing.length > 0) return finish(symbol, 0, [required.result()]);
  const { ts, open, high, low, close, volume } = cols as BarColumns;
  const n = ts.length;
  for (const c of REQUIRED_COLUMNS)
    if ((cols as BarColumns)[c].length !== n)
      required.add(null, `column ${c} has ${(cols as BarColumns)[c].length} rows, ts has ${n}`);

  const hasVolume = options.hasVolume ?? true;
  const nulls = new Collector('no_nulls', 'error');
  const positive = new Collector('prices_positive', 'error');
  const volumeOk = new Collector('volume_non_negative', 'error');
  const highOk = new Collector('high_ge_open_close', 'error');
  const lowOk = new Collector('low_le_open_close', 'error');
  const dupes = new Collector('unique_sorted_timestamps', 'error');
  const gaps = new Collector('no_calendar_gaps', 'warning');
  const outliers = new Collector('return_outliers', 'warning');

  const interval = barSizeMs(options.barSize);
  const daily = interval === DAY_MS;
  const intraday = interval < DAY_MS;
  // Weekly and monthly bars: a gap is a whole period without a bar, not the trading days between two bars.
  const periodUnit = interval > DAY_MS ? (interval >= 28 * DAY_MS ? 'month' : 'week') : null;
  const tradingDay = tradingDayFn(daily);
  let prevDay = n > 0 ? tradingDay(ts[0]) : 0;
  // Intraday, a session's first return is the overnight gap: not comparable with the bar-to-bar spread.
  const opensSession = intraday ? new Uint8Array(n) : null;
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const t = ts[i];
    const o = open[i];
    const h = high[i];
    const l = low[i];
    const c = close[i];
    const v = volume[i];
    if (
      Number.isNaN(t) ||
      Number.isNaN(o) ||
      Number.isNaN(h) ||
      Number.isNaN(l) ||
      Number.isNaN(c) ||
      (hasVolume && Number.isNaN(v))
    ) {
      nulls.add(t, 'a required value is null');
      continue;
    }
    if (o <= 0 || h <= 0 || l <= 0 || c <= 0) positive.add(t, `price ≤ 0 (o=${o} h=${h} l=${l} c=${c})`);
    if (hasVolume && v < 0) volumeOk.add(t, `volume ${v}`);
    if (h < Math.max(o, c)) highOk.add(t, `high ${h} < max(open ${o}, close ${c})`);
    if (l > Math.min(o, c)) lowOk.add(t, `low ${l} > min(open ${o}, close ${c})`);
    if (i > 0) {
      const prev = ts[i - 1];
      if (t === prev) dupes.add(t, 'duplicate timestamp');
      else if (t < prev) dupes.add(t, `out of order after ${new Date(prev).toISOString()}`);
      else if (periodUnit) {
        const missing = Math.round((t - prev) / interval) - 1;
        if (missing > 0) gaps.addMany(missing, prev, `${missing} ${periodUnit}(s) without a bar`);
      } else {
        const d0 = prevDay;
        const d1 = tradingDay(t);
        prevDay = d1;
        if (d1 === d0) {
          if (intraday && t - prev > interval)
            gaps.addMany(
              Math.round((t - prev) / interval) - 1,
              prev,
              `${Math.round((t - prev) / interval) - 1} bars missing within the session`,
            );
        } else {
          if (opensSession) opensSession[i] = 1;
          if (intraday && options.useRTH !== undefined) sessionEnds(d0, prev, d1, t, interval, options.useRTH, gaps);
          if (daily || interval <= 3_600_000) {
            let missingDays = 0;
            for (let d = d0 + 1; d < d1 && missingDays < 400; d++) if (isTradingDay(d)) missingDays++;
            if (missingDays > 0) gaps.addMany(missingDays, prev, `${missingDays} trading day(s) without bars`);
          }
        }
      }
      const p = close[i - 1];
      if (p > 0 && c > 0 && opensSession?.[i] !== 1) {
        const r = c / p - 1;
        sum += r;
        sumSq += r * r;
        count++;
      }
    }
  }
  if (options.range && !periodUnit && (daily || interval <= 3_600_000)) rangeEdges(ts, tradingDay, options.range, gaps);
  // Second pass only when there are enough returns for a meaningful spread.
  if (count >= 20) {
    const mean = sum / count;
    const sd = Math.sqrt(Math.max(0, sumSq / count - mean * mean));
    if (sd > 0) {
      const limit = options.outlierZ * sd;
      for (let i = 1; i < n; i++) {
        const p = close[i - 1];
        const c = close[i];
        if (!(p > 0 && c > 0) || opensSession?.[i] === 1) continue;
        const dev = c / p - 1 - mean;
        if (dev > limit || dev < -limit)
          outliers.add(
            ts[i],
            `return ${((c / p - 1) * 100).toFixed(2)}% is ${(dev / sd).toFixed(1)} standard deviations from the mean`,
          );
      }
    }
  }
  const checks = [required, nulls, positive, ...(hasVolume ? [volumeOk] : []), highOk, lowOk, dupes, gaps, outliers].map((c) =>
    c.result(),
  );
  return finish(symbol, n, checks);
}

/** Trading days of the requested range with no bar before the first bar or after the last one (none at all: every one). */
function rangeEdges(
  ts: Float64Array,
  tradingDay: (t: number) => number,
  range: { from: number; to: number; now: number },
  gaps: Collector,
) {
  const fromDay = Math.floor(range.from / DAY_MS);
  // `to` is exclusive, and today's bar may not be there yet: count up to yesterday at most.
  const endDay = Math.min(Math.ceil(range.to / DAY_MS), Math.floor(range.now / DAY_MS));
  const count = (a: number, b: number) => {
    let missing = 0;
    for (let d = a; d < b && missing < 400; d++) if (isTradingDay(d)) missing++;
    return missing;
  };
  if (ts.length === 0) return;
  const firstDay = tradingDay(ts[0]);
  const lastDay = tradingDay(ts[ts.length - 1]);
  const before = count(fromDay, firstDay);
  if (before > 0) gaps.addMany(before, ts[0], `${before} trading day(s) of the range without bars before the first bar`);
  const after = count(lastDay + 1, endDay);
  if (after > 0) gaps.addMany(after, ts[ts.length - 1], `${after} trading day(s) of the range without bars after the last bar`);
}

/** Bars missing between the last bar of day `d0` and its close, and between the open of day `d1` and its first bar. */
function sessionEnds(d0: number, last: number, d1: number, first: number, interval: number, useRTH: boolean, gaps: Collector) {
  if (isTradingDay(d0)) {
    const missing = Math.floor((sessionBounds(d0, useRTH).close - (last + interval)) / interval);
    if (missing > 0) gaps.addMany(missing, last, `${missing} bars missing before the session close`);
  }
  if (isTradingDay(d1)) {
    const missing = Math.floor((first - sessionBounds(d1, useRTH).open) / interval);
    if (missing > 0) gaps.addMany(missing, first, `${missing} bars missing after the session open`);
  }
}

function finish(symbol: string, rows: number, checks: CheckResult[]): SymbolReport {
  return { symbol, rows, passed: checks.every((c) => c.passed || c.severity === 'warning'), checks };
}

export function summarise(symbols: SymbolReport[]): ValidationReport {
  let checksPassed = 0;
  let checksFailed = 0;
  let warnings = 0;
  for (const s of symbols) {
    for (const c of s.checks) {
      if (c.passed) checksPassed++;
      else if (c.severity === 'error') checksFailed++;
      else warnings++;
    }
  }
  return { passed: symbols.every((s) => s.passed), checksPassed, checksFailed, warnings, symbols };
}
