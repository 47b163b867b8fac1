import { describe, expect, it } from 'vitest';
import {
  alignStart,
  type CoverageInterval,
  effectiveCoverage,
  isSettled,
  mergeRanges,
  planFetch,
  replaceCoverage,
  settleMs,
  subtractRanges,
} from '../../core/marketdata';

const H = 3_600_000;
const D = 24 * H;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const TTL = 24 * H;

describe('coverage arithmetic', () => {
  it('merges overlapping and touching ranges and drops empty ones', () => {
    expect(
      mergeRanges([
        { start: 5, end: 8 },
        { start: 0, end: 2 },
        { start: 2, end: 4 },
        { start: 7, end: 10 },
        { start: 12, end: 12 },
      ]),
    ).toEqual([
      { start: 0, end: 4 },
      { start: 5, end: 10 },
    ]);
  });

  it('finds the gaps of a request between covered ranges', () => {
    expect(
      subtractRanges({ start: 0, end: 100 }, [
        { start: 10, end: 20 },
        { start: 15, end: 30 },
        { start: 50, end: 60 },
        { start: 90, end: 200 },
      ]),
    ).toEqual([
      { start: 0, end: 10 },
      { start: 30, end: 50 },
      { start: 60, end: 90 },
    ]);
    expect(subtractRanges({ start: 0, end: 10 }, [{ start: -5, end: 50 }])).toEqual([]);
    expect(subtractRanges({ start: 0, end: 10 }, [])).toEqual([{ start: 0, end: 10 }]);
  });

  it('aligns a range start to the bar grid (capped at one day)', () => {
    expect(alignStart(day('2025-03-04') + 13 * H, '1 day')).toBe(day('2025-03-04'));
    expect(alignStart(day('2025-03-04') + 90_500, '1 min')).toBe(day('2025-03-04') + 60_000);
    expect(alignStart(day('2025-03-05') + 5 * H, '1 week')).toBe(day('2025-03-05'));
  });
});

describe('freshness: settled intervals, the live edge and the stale tail', () => {
  const now = day('2026-01-10') + 15 * H;

  it('an interval that ended long before it was fetched is settled and never goes stale', () => {
    const weekend: CoverageInterval = {
      start: day('2025-06-07'),
      end: day('2025-06-09'),
      fetchedAt: day('2026-01-01'),
      rowCount: 0,
    };
    expect(isSettled(weekend, '1 day')).toBe(true);
    const years = 10 * 365 * D;
    expect(planFetch({ start: weekend.start, end: weekend.end }, [weekend], '1 day', now + years, TTL).toFetch).toEqual([]);
  });

  it('a fresh live-edge interval covers up to now: no request within the TTL', () => {
    const fetchedAt = now - 2 * H;
    const iv: CoverageInterval = { start: day('2025-01-10'), end: fetchedAt, fetchedAt, rowCount: 250 };
    expect(isSettled(iv, '1 day')).toBe(false);
    expect(planFetch({ start: day('2025-01-10'), end: now }, [iv], '1 day', now, TTL).toFetch).toEqual([]);
  });

  it('after the TTL only the stale tail (one bar plus the grace before the fetch) and what follows is fetched', () => {
    const fetchedAt = now - 30 * H;
    const iv: CoverageInterval = { start: day('2025-01-10'), end: fetchedAt, fetchedAt, rowCount: 250 };
    const plan = planFetch({ start: day('2025-01-10'), end: now }, [iv], '1 day', now, TTL);
    expect(plan.toFetch).toEqual([{ start: fetchedAt - settleMs('1 day'), end: now }]);
    expect(plan.staleTails).toEqual([{ start: fetchedAt - settleMs('1 day'), end: fetchedAt }]);
  });

  it('a request for the past that stops before the stale tail needs nothing even when the TTL expired', () => {
    const fetchedAt = now - 30 * H;
    const iv: CoverageInterval = { start: day('2025-01-10'), end: fetchedAt, fetchedAt, rowCount: 250 };
    expect(planFetch({ start: day('2025-02-01'), end: day('2025-09-01') }, [iv], '1 day', now, TTL).toFetch).toEqual([]);
  });

  it('gaps between intervals and before the first one are fetched, merged with the stale tail when they touch', () => {
    const a: CoverageInterval = { start: day('2025-03-01'), end: day('2025-04-01'), fetchedAt: day('2025-05-01'), rowCount: 21 };
    const b: CoverageInterval = { start: day('2025-05-01'), end: now - 40 * H, fetchedAt: now - 40 * H, rowCount: 170 };
    const plan = planFetch({ start: day('2025-01-01'), end: now }, [a, b], '1 day', now, TTL);
    expect(plan.toFetch).toEqual([
      { start: day('2025-01-01'), end: day('2025-03-01') },
      { start: day('2025-04-01'), end: day('2025-05-01') },
      { start: now - 40 * H - settleMs('1 day'), end: now },
    ]);
  });

  it('effective coverage keeps the old part of a stale interval', () => {
    const iv: CoverageInterval = {
      start: day('2025-01-01'),
      end: day('2025-12-01'),
      fetchedAt: day('2025-12-01'),
      rowCount: 230,
    };
    expect(effectiveCoverage([iv], '1 day', day('2026-01-01'), TTL)).toEqual([
      { start: day('2025-01-01'), end: day('2025-12-01') - settleMs('1 day') },
    ]);
  });
});

describe('rewriting coverage after a fetch', () => {
  it('trims and splits the intervals a new fetch replaced, keeps the others', () => {
    const old: CoverageInterval[] = [
      { start: 0, end: 100, fetchedAt: 100, rowCount: 10 },
      { start: 100, end: 200, fetchedAt: 200, rowCount: 10 },
      { start: 300, end: 400, fetchedAt: 400, rowCount: 10 },
    ];
    const { kept, trimmed } = replaceCoverage(old, [{ start: 150, end: 180 }]);
    expect(kept.map((k) => k.start)).toEqual([0, 300]);
    expect(trimmed.map(({ start, end, fetchedAt }) => ({ start, end, fetchedAt }))).toEqual([
      { start: 100, end: 150, fetchedAt: 200 },
      { start: 180, end: 200, fetchedAt: 200 },
    ]);
  });
});
