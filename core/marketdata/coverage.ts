/**
 * Coverage arithmetic for the bar cache, pure and clock-free (the caller passes `now`).
 *
 * A coverage interval says "for this series, [start, end) was fetched from IBKR at fetchedAt and
 * held rowCount bars" (0 = IBKR had nothing there: weekend, holiday, before listing). Intervals
 * are [start, end) in epoch ms UTC.
 *
 * Freshness, precisely:
 * - An interval is **settled** when `end <= fetchedAt - settleMs(barSize)`: every bar in it had
 *   closed (plus a grace period for late corrections) before it was fetched. Settled intervals
 *   never go stale; their bars (or their "no data") are final and are never fetched again.
 * - Otherwise it is a **live-edge** interval: it reached into the recent past when it was fetched,
 *   so its last bars may have been partial. While fresh (`now - fetchedAt <= ttlMs`) a live-edge
 *   interval also counts as covering everything from its end up to `now` (that is what a TTL
 *   means: no new request for the latest bars until the TTL expires).
 * - Once stale (`now - fetchedAt > ttlMs`) its **stale tail** `[max(start, fetchedAt - settleMs), end)`
 *   is treated as uncovered again, together with whatever lies after it. The older part stays covered.
 */
import type { BarSize } from '../ibkr/types';

export interface Range {
  start: number;
  end: number;
}

export interface CoverageInterval extends Range {
  fetchedAt: number;
  rowCount: number;
  requestId?: string;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const BAR_MS: Record<BarSize, number> = {
  '1 secs': SECOND,
  '5 secs': 5 * SECOND,
  '10 secs': 10 * SECOND,
  '15 secs': 15 * SECOND,
  '30 secs': 30 * SECOND,
  '1 min': MINUTE,
  '2 mins': 2 * MINUTE,
  '3 mins': 3 * MINUTE,
  '5 mins': 5 * MINUTE,
  '10 mins': 10 * MINUTE,
  '15 mins': 15 * MINUTE,
  '20 mins': 20 * MINUTE,
  '30 mins': 30 * MINUTE,
  '1 hour': HOUR,
  '2 hours': 2 * HOUR,
  '3 hours': 3 * HOUR,
  '4 hours': 4 * HOUR,
  '8 hours': 8 * HOUR,
  '1 day': DAY,
  '1 week': 7 * DAY,
  '1 month': 31 * DAY,
};

/** Nominal length of one bar. */
export function barMs(barSize: BarSize): number {
  return BAR_MS[barSize];
}

/** Grace after a bar's period ends before it is final (late prints, after-hours, daily close in UTC). */
export const SETTLE_GRACE_MS = 6 * HOUR;

/** How long before its fetch an interval must have ended to be final: one bar plus the grace. */
export function settleMs(barSize: BarSize): number {
  return barMs(barSize) + SETTLE_GRACE_MS;
}

/** Bars start on multiples of their length (capped at one day) in UTC; a range is widened to that grid. */
export function alignStart(ms: number, barSize: BarSize): number {
  const step = Math.min(barMs(barSize), DAY);
  return Math.floor(ms / step) * step;
}

export function isSettled(interval: CoverageInterval, barSize: BarSize): boolean {
  return interval.end <= interval.fetchedAt - settleMs(barSize);
}

export function isStale(interval: CoverageInterval, barSize: BarSize, now: number, ttlMs: number): boolean {
  return !isSettled(interval, barSize) && now - interval.fetchedAt > ttlMs;
}

/** Sorts and merges overlapping or touching ranges; drops empty ones. */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** `target` minus every range in `covered`. */
export function subtractRanges(target: Range, covered: readonly Range[]): Range[] {
  const out: Range[] = [];
  let cursor = target.start;
  for (const c of mergeRanges(covered)) {
    if (c.end <= cursor) continue;
    if (c.start >= target.end) break;
    if (c.start > cursor) out.push({ start: cursor, end: Math.min(c.start, target.end) });
    cursor = Math.max(cursor, c.end);
    if (cursor >= target.end) break;
  }
  if (cursor < target.end) out.push({ start: cursor, end: target.end });
  return out;
}

/** What each interval validly covers at `now` (see the module comment). */
export function effectiveCoverage(intervals: readonly CoverageInterval[], barSize: BarSize, now: number, ttlMs: number): Range[] {
  const out: Range[] = [];
  for (const i of intervals) {
    if (isSettled(i, barSize)) out.push({ start: i.start, end: i.end });
    else if (now - i.fetchedAt <= ttlMs) out.push({ start: i.start, end: Math.max(i.end, now) });
    else out.push({ start: i.start, end: Math.max(i.start, Math.min(i.end, i.fetchedAt - settleMs(barSize))) });
  }
  return mergeRanges(out);
}

export interface FetchPlan {
  /** Sub-ranges of the request to fetch from IBKR (never-fetched gaps merged with stale tails). */
  toFetch: Range[];
  /** The part of `toFetch` that had been fetched before and went stale. */
  staleTails: Range[];
}

/** The ranges of [start, end) to fetch, given the series' coverage at `now`. */
export function planFetch(
  request: Range,
  intervals: readonly CoverageInterval[],
  barSize: BarSize,
  now: number,
  ttlMs: number,
): FetchPlan {
  if (request.end <= request.start) return { toFetch: [], staleTails: [] };
  const toFetch = subtractRanges(request, effectiveCoverage(intervals, barSize, now, ttlMs));
  const everFetched = mergeRanges(intervals);
  const staleTails = mergeRanges(toFetch.flatMap((gap) => intersectRanges(gap, everFetched)));
  return { toFetch, staleTails };
}

function intersectRanges(target: Range, ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const r of ranges) {
    const start = Math.max(target.start, r.start);
    const end = Math.min(target.end, r.end);
    if (end > start) out.push({ start, end });
  }
  return out;
}

/**
 * The coverage after writing `fetched` ranges at `fetchedAt`: older intervals are trimmed (or split)
 * where a new fetch replaced them, and the new ranges are added. Row counts of trimmed pieces are
 * recomputed by the caller from the bars table.
 */
export function replaceCoverage(
  intervals: readonly CoverageInterval[],
  fetched: readonly Range[],
): { kept: CoverageInterval[]; trimmed: CoverageInterval[] } {
  const replaced = mergeRanges(fetched);
  const kept: CoverageInterval[] = [];
  const trimmed: CoverageInterval[] = [];
  for (const i of intervals) {
    const pieces = subtractRanges(i, replaced);
    if (pieces.length === 1 && pieces[0].start === i.start && pieces[0].end === i.end) {
      kept.push(i);
      continue;
    }
    for (const p of pieces) trimmed.push({ ...p, fetchedAt: i.fetchedAt, rowCount: i.rowCount, requestId: i.requestId });
  }
  return { kept, trimmed };
}
