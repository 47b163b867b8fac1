/** PacingLimiter rules on a ManualClock, and splitting ranges by IBKR's longest duration per bar size. */
import { describe, expect, it } from 'vitest';
import {
  type BarSize,
  PacingLimiter,
  type PacingRequest,
  pacingRequest,
  parseBarTime,
  type Release,
  splitRange,
} from '../../core/ibkr';
import { ManualClock } from '../../core/platform';
import { utc } from './support';

const settle = () => new Promise<void>((r) => setImmediate(r));

function req(
  contract: string,
  end: string,
  barSize: BarSize = '5 secs',
  whatToShow: 'TRADES' | 'BID_ASK' = 'TRADES',
): PacingRequest {
  return pacingRequest({
    contractKey: contract,
    exchange: 'NASDAQ',
    endDateTime: end,
    durationStr: '3600 S',
    barSize,
    whatToShow,
    useRTH: true,
  });
}

/** Starts an acquire and tracks whether it has been granted. */
function track(limiter: PacingLimiter, request: PacingRequest, signal?: AbortSignal) {
  const state: { granted: boolean; release: Release | null; error: unknown } = { granted: false, release: null, error: null };
  limiter.acquire(request, signal).then(
    (release) => {
      state.granted = true;
      state.release = release;
    },
    (err) => {
      state.error = err;
    },
  );
  return state;
}

describe('PacingLimiter', () => {
  it('holds an identical request until 15 s after the first', async () => {
    const clock = new ManualClock();
    const limiter = new PacingLimiter({ clock, marginMs: 0, maxConcurrent: 10 });
    const first = track(limiter, req('NVDA', 'e1'));
    await settle();
    first.release?.();
    const again = track(limiter, req('NVDA', 'e1'));
    const other = track(limiter, req('NVDA', 'e2'));
    await settle();
    expect(first.granted).toBe(true);
    expect(other.granted).toBe(true);
    expect(again.granted).toBe(false);
    await clock.advance(14_999);
    await settle();
    expect(again.granted).toBe(false);
    await clock.advance(1);
    await settle();
    expect(again.granted).toBe(true);
  });

  it('allows at most 5 requests for one contract and tick type within 2 s', async () => {
    const clock = new ManualClock();
    const limiter = new PacingLimiter({ clock, marginMs: 0, maxConcurrent: 20 });
    const burst = Array.from({ length: 6 }, (_, i) => track(limiter, req('TSLA', `e${i}`)));
    const otherContract = track(limiter, req('AAPL', 'e0'));
    await settle();
    expect(burst.filter((s) => s.granted)).toHaveLength(5);
    expect(otherContract.granted).toBe(true);
    await clock.advance(2_000);
    await settle();
    expect(burst.every((s) => s.granted)).toBe(true);
  });

  it('allows at most 60 requests in any 10 minutes, BID_ASK counting twice', async () => {
    const clock = new ManualClock();
    const limiter = new PacingLimiter({ clock, marginMs: 0, maxConcurrent: 100 });
    const first = Array.from({ length: 29 }, (_, i) => track(limiter, req(`S${i}`, 'e')));
    await settle();
    await clock.advance(60_000);
    const bidAsk = track(limiter, req('BA', 'e', '5 secs', 'BID_ASK')); // counts 2 → 31 requests' worth
    const more = Array.from({ length: 29 }, (_, i) => track(limiter, req(`T${i}`, 'e')));
    await settle();
    expect(first.every((s) => s.granted)).toBe(true);
    expect(bidAsk.granted).toBe(true);
    expect(more.filter((s) => s.granted)).toHaveLength(29); // 29 + 2 + 29 = 60
    const sixtyFirst = track(limiter, req('LATE', 'e'));
    await settle();
    expect(sixtyFirst.granted).toBe(false);
    expect(limiter.delayFor(req('LATE2', 'e'))).toBe(540_000);
    await clock.advance(540_000); // the first 29 age out 10 minutes after they were sent
    await settle();
    expect(sixtyFirst.granted).toBe(true);
  });

  it('keeps a safety margin of 250 ms on every window by default', async () => {
    const clock = new ManualClock();
    const limiter = new PacingLimiter({ clock });
    const first = track(limiter, req('NVDA', 'e1'));
    await settle();
    first.release?.();
    expect(limiter.delayFor(req('NVDA', 'e1'))).toBe(15_250);
  });

  it('caps simultaneous open requests and frees a slot on release', async () => {
    const clock = new ManualClock();
    const limiter = new PacingLimiter({ clock, marginMs: 0, maxConcurrent: 2 });
    const a = track(limiter, req('A', 'e', '1 day'));
    const b = track(limiter, req('B', 'e', '1 day'));
    const c = track(limiter, req('C', 'e', '1 day'));
    await settle();
    expect([a.granted, b.granted, c.granted]).toEqual([true, true, false]);
    expect(limiter.open).toBe(2);
    a.release?.();
    a.release?.(); // releasing twice frees one slot only
    await settle();
    expect(c.granted).toBe(true);
    expect(limiter.open).toBe(2);
    expect(limiter.stats.maxOpen).toBe(2);
  });

  it('applies the hard rules to bars of 30 s or less by default, to everything with rulesApplyTo "all"', async () => {
    const clock = new ManualClock();
    const relaxed = new PacingLimiter({ clock, marginMs: 0, maxConcurrent: 50 });
    const daily = Array.from({ length: 8 }, () => track(relaxed, req('NVDA', 'same', '1 day')));
    await settle();
    expect(daily.every((s) => s.granted)).toBe(true);

    const strict = new PacingLimiter({ clock, marginMs: 0, maxConcurrent: 50, rulesApplyTo: 'all' });
    const strictDaily = Array.from({ length: 2 }, () => track(strict, req('NVDA', 'same', '1 day')));
    await settle();
    expect(strictDaily.map((s) => s.granted)).toEqual([true, false]);
  });

  it('drops a waiting request when its signal aborts', async () => {
    const clock = new ManualClock();
    const limiter = new PacingLimiter({ clock, marginMs: 0, maxConcurrent: 1 });
    const a = track(limiter, req('A', 'e', '1 day'));
    const controller = new AbortController();
    const b = track(limiter, req('B', 'e', '1 day'), controller.signal);
    await settle();
    controller.abort(new Error('user cancelled'));
    await settle();
    expect(a.granted).toBe(true);
    expect(b.granted).toBe(false);
    expect((b.error as Error).message).toBe('user cancelled');
    expect(limiter.waiting).toBe(0);
  });
});

describe('splitRange', () => {
  it('cuts two years of daily bars into 365-day requests, newest first, with UTC end times', () => {
    const pieces = splitRange(utc(2024, 1, 1), utc(2026, 1, 1), '1 day');
    expect(pieces).toHaveLength(3); // 731 days = 365 + 365 + 1
    expect(pieces[0]).toMatchObject({ end: utc(2026, 1, 1), durationStr: '365 D', endDateTime: '20260101-00:00:00' });
    expect(pieces[2]).toMatchObject({ start: utc(2024, 1, 1), durationStr: '1 D' });
    expect(pieces.every((p, i) => i === 0 || p.end === pieces[i - 1].start)).toBe(true);
  });

  it('uses one day per request for 1-minute bars and 1800 S for 1-second bars', () => {
    expect(splitRange(utc(2026, 1, 5), utc(2026, 1, 8), '1 min').map((p) => p.durationStr)).toEqual([
      '86400 S',
      '86400 S',
      '86400 S',
    ]);
    expect(splitRange(utc(2026, 1, 5, 14), utc(2026, 1, 5, 15), '1 secs').map((p) => p.durationStr)).toEqual([
      '1800 S',
      '1800 S',
    ]);
    expect(splitRange(utc(2026, 1, 5, 14), utc(2026, 1, 5, 14, 10), '5 secs').map((p) => p.durationStr)).toEqual(['600 S']);
  });

  it('uses a week for 3–20 minute bars and 30 days for 30 minutes to 8 hours', () => {
    expect(splitRange(utc(2026, 1, 1), utc(2026, 1, 11), '5 mins').map((p) => p.durationStr)).toEqual(['7 D', '3 D']);
    expect(splitRange(utc(2026, 1, 1), utc(2026, 3, 2), '1 hour').map((p) => p.durationStr)).toEqual(['30 D', '30 D']);
  });

  it('returns nothing for an empty range', () => {
    expect(splitRange(utc(2026, 1, 2), utc(2026, 1, 2), '1 day')).toEqual([]);
  });
});

describe('parseBarTime: every way a gateway writes a bar time', () => {
  it('reads dates, epoch seconds, UTC forms and zoned TWS wall times; refuses what it cannot place', () => {
    expect(parseBarTime('20261118')).toBe(utc(2026, 11, 18));
    expect(parseBarTime('1763478000')).toBe(1_763_478_000_000);
    expect(parseBarTime('20261118-15:00:00')).toBe(Date.parse('2026-11-18T15:00:00Z'));
    expect(parseBarTime('20261118 15:00:00 UTC')).toBe(Date.parse('2026-11-18T15:00:00Z'));
    // Winter and summer: the zone's offset of that date, not of today.
    expect(parseBarTime('20261118 10:00:00 US/Eastern')).toBe(Date.parse('2026-11-18T15:00:00Z'));
    expect(parseBarTime('20260701 10:00:00 America/New_York')).toBe(Date.parse('2026-07-01T14:00:00Z'));
    expect(parseBarTime('20260701 09:30:00 Europe/London')).toBe(Date.parse('2026-07-01T08:30:00Z'));
    expect(parseBarTime('20261118 10:00:00 Mars/Olympus')).toBeNull();
    expect(parseBarTime('yesterday')).toBeNull();
  });
});
