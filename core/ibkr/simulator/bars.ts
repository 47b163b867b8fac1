/**
 * Deterministic bars for the simulated gateway. A symbol's price is a smooth "random walk" built from
 * value noise at several time scales, seeded by a hash of the symbol: the price at any instant is a pure
 * function of (symbol, time), so the same bar comes back for the same symbol and timestamp no matter how
 * the range is requested. Bars exist only on trading days, within the session (RTH or extended).
 */

import { DAY_MS, isTradingDay, sessionBounds, weekday } from '../../calendar';
import { BAR_SIZE_MS, formatYmd, isDailyOrLonger } from '../durations';
import type { BarSize } from '../types';

export interface SimBar {
  /** Epoch ms UTC of the bar start (daily and longer: 00:00 UTC of the date). */
  ts: number;
  /** As sent on the wire: `yyyyMMdd` for daily and longer, epoch seconds otherwise. */
  time: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  wap: number;
  count: number;
}

export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Uniform [0, 1) from a seed and an integer lattice index (any safe integer). */
function hash01(seed: number, i: number): number {
  const lo = i | 0;
  const hi = Math.floor(i / 4_294_967_296) | 0;
  let h = seed ^ Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi ^ 0x27d4eb2f, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4_294_967_296;
}

/** Smooth noise in [-1, 1]. */
function valueNoise(seed: number, x: number): number {
  const i = Math.floor(x);
  const f = x - i;
  const u = f * f * (3 - 2 * f);
  const a = hash01(seed, i);
  const b = hash01(seed, i + 1);
  return (a + (b - a) * u) * 2 - 1;
}

/** [scale in seconds, amplitude of log price] */
const OCTAVES: [number, number][] = [
  [365 * 86_400, 0.35],
  [60 * 86_400, 0.14],
  [10 * 86_400, 0.06],
  [2 * 86_400, 0.03],
  [6 * 3_600, 0.012],
  [3_600, 0.005],
  [600, 0.002],
  [60, 0.0008],
  [5, 0.0002],
];

export class SymbolSeries {
  readonly seed: number;
  private readonly base: number;
  private readonly baseVolume: number;

  constructor(readonly symbol: string) {
    this.seed = hashString(symbol.toUpperCase());
    this.base = 20 + hash01(this.seed, 1) * 480;
    this.baseVolume = 200_000 + Math.floor(hash01(this.seed, 2) * 5_000_000);
  }

  /** Price at an instant (epoch ms). */
  price(ms: number): number {
    const s = ms / 1000;
    let log = 0;
    for (let k = 0; k < OCTAVES.length; k++) {
      const [scale, amp] = OCTAVES[k];
      log += amp * valueNoise(this.seed + k * 7919, s / scale);
    }
    return this.base * Math.exp(log);
  }

  /** One bar spanning [from, to) (ms), keyed for determinism by `key` (its ts) and bar length. */
  bar(ts: number, time: string, from: number, to: number): SimBar {
    const open = round2(this.price(from));
    const close = round2(this.price(to));
    const spanSec = Math.max(1, (to - from) / 1000);
    const r1 = hash01(this.seed ^ 0x51ed27, Math.floor(ts / 1000));
    const r2 = hash01(this.seed ^ 0x2545f4, Math.floor(ts / 1000));
    const r3 = hash01(this.seed ^ 0x68e31d, Math.floor(ts / 1000));
    const wiggle = 0.0004 * Math.sqrt(spanSec / 60) + 0.0002;
    const high = round2(Math.max(open, close) * (1 + wiggle * r1));
    const low = round2(Math.min(open, close) * (1 - wiggle * r2));
    const volume = Math.max(1, Math.round(this.baseVolume * (spanSec / 23_400) * (0.5 + r3)));
    const wap = round4((high + low + close) / 3);
    const count = Math.max(1, Math.round(volume / 120));
    return { ts, time, open, high, low, close, volume, wap, count };
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

const seriesCache = new Map<string, SymbolSeries>();
function seriesFor(symbol: string): SymbolSeries {
  let s = seriesCache.get(symbol);
  if (!s) {
    s = new SymbolSeries(symbol);
    seriesCache.set(symbol, s);
  }
  return s;
}

/**
 * Bars of `symbol` whose start lies in [from, to), none before `listedAt`. Intraday bars are aligned to
 * multiples of the bar size from New York midnight and clipped to the session; daily bars are one per
 * trading day; weekly bars start on Mondays, monthly bars on the 1st (dated by that day).
 */
export function generateBars(
  symbol: string,
  barSize: BarSize,
  from: number,
  to: number,
  options: { useRTH: boolean; listedAt?: number },
): SimBar[] {
  const series = seriesFor(symbol);
  const lower = Math.max(from, options.listedAt ?? Number.NEGATIVE_INFINITY);
  const bars: SimBar[] = [];
  if (!(to > lower)) return bars;
  const firstDay = Math.floor(lower / DAY_MS) - 1;
  const lastDay = Math.floor((to - 1) / DAY_MS) + 1;

  if (barSize === '1 day') {
    for (let day = firstDay; day <= lastDay; day++) {
      const ts = day * DAY_MS;
      if (ts < lower || ts >= to || !isTradingDay(day)) continue;
      const { open, close } = sessionBounds(day, true);
      bars.push(series.bar(ts, formatYmd(ts), open, close));
    }
    return bars;
  }
  if (isDailyOrLonger(barSize)) {
    // Weekly / monthly: one bar per period that has a trading day, dated by the period's first day.
    const periods = new Map<number, number[]>();
    for (let day = firstDay - 31; day <= lastDay; day++) {
      if (!isTradingDay(day)) continue;
      const periodStart =
        barSize === '1 week'
          ? day - ((weekday(day) + 6) % 7)
          : Math.floor(Date.UTC(new Date(day * DAY_MS).getUTCFullYear(), new Date(day * DAY_MS).getUTCMonth(), 1) / DAY_MS);
      const list = periods.get(periodStart) ?? [];
      list.push(day);
      periods.set(periodStart, list);
    }
    for (const [periodStart, days] of periods) {
      const ts = periodStart * DAY_MS;
      if (ts < lower || ts >= to) continue;
      const open = sessionBounds(days[0], true).open;
      const close = sessionBounds(days[days.length - 1], true).close;
      bars.push(series.bar(ts, formatYmd(ts), open, close));
    }
    return bars.sort((a, b) => a.ts - b.ts);
  }

  const step = BAR_SIZE_MS[barSize];
  for (let day = firstDay; day <= lastDay; day++) {
    if (!isTradingDay(day)) continue;
    const { open, close } = sessionBounds(day, options.useRTH);
    if (close <= lower || open >= to) continue;
    const localMidnight = open - (options.useRTH ? (9 * 60 + 30) * 60_000 : 4 * 3_600_000);
    let t = open;
    while (t < close) {
      const next = Math.min(close, localMidnight + (Math.floor((t - localMidnight) / step) + 1) * step);
      if (t >= lower && t < to) bars.push(series.bar(t, String(Math.floor(t / 1000)), t, next));
      t = next;
    }
  }
  return bars;
}
