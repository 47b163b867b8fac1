/** The validate task's checks on one symbol's bar columns, bar by bar, against the NYSE calendar. */
import { describe, expect, it } from 'vitest';
import { generateBars, type SimBar } from '../../core/ibkr/simulator';
import type { BarColumns } from '../../core/marketdata/types';
import { validateSymbol } from '../../core/pipeline';

const utc = (y: number, m: number, d: number, h = 0, min = 0) => Date.UTC(y, m - 1, d, h, min);
const iso = (ms: number) => new Date(ms).toISOString();

function columns(bars: readonly SimBar[]): BarColumns {
  const col = (k: keyof BarColumns) => Float64Array.from(bars, (b) => b[k]);
  return { ts: col('ts'), open: col('open'), high: col('high'), low: col('low'), close: col('close'), volume: col('volume') };
}

/** One-minute RTH bars of Monday 2026-11-23 to Tuesday 2026-12-01: Thanksgiving (26th) closed, the 27th closes at 13:00. */
function thanksgivingWeek(): SimBar[] {
  return generateBars('NVDA', '1 min', utc(2026, 11, 23), utc(2026, 12, 2), { useRTH: true });
}

const check = (report: ReturnType<typeof validateSymbol>, name: string) => report.checks.find((c) => c.check === name);

describe('validateSymbol', () => {
  it('passes a complete week of one-minute bars across a holiday and an early close', () => {
    const bars = thanksgivingWeek();
    expect(bars).toHaveLength(5 * 390 + 210);
    const report = validateSymbol('NVDA', columns(bars), { barSize: '1 min', outlierZ: 8, useRTH: true });
    expect(report.passed).toBe(true);
    expect(report.rows).toBe(bars.length);
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
  });

  it('counts the bars missing inside a session, at its open, before its close, and whole trading days', () => {
    const day = (d: number) => (b: SimBar) => iso(b.ts).startsWith(`2026-11-${String(d).padStart(2, '0')}`);
    const bars = thanksgivingWeek().filter((b) => {
      const t = iso(b.ts);
      if (day(24)(b) && t >= '2026-11-24T20:00') return false; // the last hour of Tuesday (close 21:00 UTC)
      if (day(25)(b) && t < '2026-11-25T14:45') return false; // the first 15 minutes of Wednesday
      if (day(23)(b) && t >= '2026-11-23T16:00' && t < '2026-11-23T16:10') return false; // 10 minutes on Monday
      if (day(30)(b)) return false; // all of Monday the 30th
      return true;
    });
    const report = validateSymbol('NVDA', columns(bars), { barSize: '1 min', outlierZ: 8, useRTH: true });
    const gaps = check(report, 'no_calendar_gaps');
    expect(gaps).toMatchObject({ severity: 'warning', passed: false, failures: 10 + 60 + 15 + 1 });
    expect(gaps?.examples.map((e) => e.detail)).toEqual([
      '10 bars missing within the session',
      '60 bars missing before the session close',
      '15 bars missing after the session open',
      '1 trading day(s) without bars',
    ]);
    // Gaps are warnings: the report still passes.
    expect(report.passed).toBe(true);
    // Without the session given, only the inner gaps and the missing day are found.
    const loose = validateSymbol('NVDA', columns(bars), { barSize: '1 min', outlierZ: 8 });
    expect(check(loose, 'no_calendar_gaps')?.failures).toBe(11);
  });

  it('fails on inconsistent OHLC, non-positive prices, negative volume, nulls and duplicate timestamps', () => {
    const cols = columns(thanksgivingWeek().slice(0, 390));
    cols.high[5] = Math.min(cols.open[5], cols.close[5]) - 1;
    cols.low[6] = Math.max(cols.open[6], cols.close[6]) + 1;
    cols.close[7] = 0;
    cols.volume[8] = -1;
    cols.open[9] = Number.NaN;
    cols.ts[11] = cols.ts[10];
    const report = validateSymbol('NVDA', cols, { barSize: '1 min', outlierZ: 8, useRTH: true });
    expect(report.passed).toBe(false);
    const failed = Object.fromEntries(report.checks.filter((c) => !c.passed).map((c) => [c.check, c.failures]));
    expect(failed).toMatchObject({
      high_ge_open_close: 1,
      low_le_open_close: expect.any(Number),
      prices_positive: 1,
      volume_non_negative: 1,
      no_nulls: 1,
      unique_sorted_timestamps: 1,
    });
    expect(check(report, 'unique_sorted_timestamps')?.examples[0]).toEqual({
      ts: iso(cols.ts[11]),
      detail: 'duplicate timestamp',
    });
  });

  it('flags a return far outside the spread as an outlier warning, and names missing columns as an error', () => {
    const cols = columns(thanksgivingWeek().slice(0, 390));
    for (const k of ['open', 'high', 'low', 'close'] as const) cols[k][200] *= 1.5;
    const report = validateSymbol('NVDA', cols, { barSize: '1 min', outlierZ: 8, useRTH: true });
    const outliers = check(report, 'return_outliers');
    expect(outliers).toMatchObject({ severity: 'warning', passed: false, failures: 2 }); // the jump and the way back
    expect(outliers?.examples[0].ts).toBe(iso(cols.ts[200]));

    const { volume: _v, ...noVolume } = cols;
    const missing = validateSymbol('NVDA', noVolume, { barSize: '1 min', outlierZ: 8 });
    expect(missing).toMatchObject({ passed: false, rows: 0 });
    expect(check(missing, 'required_columns')?.examples).toEqual([{ ts: null, detail: 'column volume is missing' }]);
  });

  it('checks weekly and monthly bars by period, not by trading day', () => {
    const weekly = generateBars('NVDA', '1 week', utc(2025, 1, 6), utc(2025, 4, 1), { useRTH: true });
    const report = validateSymbol('NVDA', columns(weekly), { barSize: '1 week', outlierZ: 8 });
    expect(check(report, 'no_calendar_gaps')?.passed).toBe(true);
    const holed = weekly.filter((_, i) => i !== 4);
    const gap = check(validateSymbol('NVDA', columns(holed), { barSize: '1 week', outlierZ: 8 }), 'no_calendar_gaps');
    expect(gap).toMatchObject({ passed: false, failures: 1 });
    expect(gap?.examples[0].detail).toBe('1 week(s) without a bar');
    const monthly = generateBars('NVDA', '1 month', utc(2025, 1, 1), utc(2025, 7, 1), { useRTH: true });
    expect(check(validateSymbol('NVDA', columns(monthly), { barSize: '1 month', outlierZ: 8 }), 'no_calendar_gaps')?.passed).toBe(
      true,
    );
  });

  it('counts the trading days of the range missing before the first bar and after the last one', () => {
    const daily = generateBars('NVDA', '1 day', utc(2025, 6, 2), utc(2025, 7, 1), { useRTH: true });
    const range = { from: utc(2025, 6, 2), to: utc(2025, 7, 1), now: utc(2025, 11, 1) };
    expect(
      check(validateSymbol('NVDA', columns(daily), { barSize: '1 day', outlierZ: 8, range }), 'no_calendar_gaps')?.passed,
    ).toBe(true);
    // The cache held only the middle of the range: 2025-06-02..04 and 2025-06-25..30 are missing.
    const middle = daily.filter((b) => b.ts >= utc(2025, 6, 5) && b.ts < utc(2025, 6, 25));
    const gap = check(validateSymbol('NVDA', columns(middle), { barSize: '1 day', outlierZ: 8, range }), 'no_calendar_gaps');
    expect(gap?.passed).toBe(false);
    expect(gap?.failures).toBe(3 + 4);
    expect(gap?.examples.map((e) => e.detail)).toEqual([
      '3 trading day(s) of the range without bars before the first bar',
      '4 trading day(s) of the range without bars after the last bar',
    ]);
    // A range reaching today does not expect today's bar (nor later days).
    const today = { from: utc(2025, 6, 2), to: utc(2025, 7, 1), now: utc(2025, 6, 30, 15) };
    const upToFriday = daily.filter((b) => b.ts < utc(2025, 6, 30));
    expect(
      check(validateSymbol('NVDA', columns(upToFriday), { barSize: '1 day', outlierZ: 8, range: today }), 'no_calendar_gaps')
        ?.passed,
    ).toBe(true);
  });
});
