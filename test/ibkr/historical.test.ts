/**
 * Fetching bars through IbkrHistoricalSource → IbkrConnection → real @stoqey/ib → simulated gateway:
 * splitting, pacing, retries, "no data", and the errors a trader sees.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type HistoricalBarsRequest,
  type HistoricalFetchProgress,
  IbkrError,
  IbkrHistoricalSource,
  PacingLimiter,
} from '../../core/ibkr';
import { type Rig, startRig, utc, waitFor } from './support';

let rig: Rig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

const daily = (symbol: string, start: number, end: number): HistoricalBarsRequest => ({
  symbol,
  exchange: 'NASDAQ',
  barSize: '1 day',
  whatToShow: 'TRADES',
  useRTH: true,
  start,
  end,
});

const iso = (ts: number) => new Date(ts).toISOString().slice(0, 10);

describe('daily bars', () => {
  it('fetches a year of trading days in one request, without weekends or holidays', async () => {
    rig = await startRig();
    const bars = await rig.source.fetchBars(daily('NVDA', utc(2025, 1, 1), utc(2026, 1, 1)));
    expect(rig.sim.historicalRequests('NVDA')).toHaveLength(1);
    expect(rig.sim.historicalRequests('NVDA')[0]).toMatchObject({
      duration: '365 D',
      end: '20260101-00:00:00',
      barSize: '1 day',
    });
    const days = bars.map((b) => iso(b.ts));
    expect(days[0]).toBe('2025-01-02');
    expect(days.at(-1)).toBe('2025-12-31');
    for (const holiday of ['2025-01-20', '2025-04-18', '2025-07-04', '2025-11-27', '2025-12-25'])
      expect(days).not.toContain(holiday);
    expect(bars.every((b) => ![0, 6].includes(new Date(b.ts).getUTCDay()))).toBe(true);
    expect(bars.every((b) => b.ts % 86_400_000 === 0)).toBe(true); // 00:00 UTC of the trading date
    expect(bars.every((b) => b.low <= Math.min(b.open, b.close) && b.high >= Math.max(b.open, b.close) && b.volume > 0)).toBe(
      true,
    );
    expect(bars.length).toBeGreaterThan(245);
  });

  it('returns the same bar for the same symbol and day however the range is cut', async () => {
    rig = await startRig();
    const year = await rig.source.fetchBars(daily('TSLA', utc(2025, 1, 1), utc(2026, 1, 1)));
    const march = await rig.source.fetchBars(daily('TSLA', utc(2025, 3, 1), utc(2025, 4, 1)));
    expect(march.length).toBe(21);
    expect(march).toEqual(year.filter((b) => b.ts >= utc(2025, 3, 1) && b.ts < utc(2025, 4, 1)));
    const other = await rig.source.fetchBars(daily('AAPL', utc(2025, 3, 1), utc(2025, 4, 1)));
    expect(other[0].close).not.toBe(march[0].close);
  });

  it('honours a listing date: nothing before it, and "no data" pieces come back empty', async () => {
    rig = await startRig({ listingDates: { NEWCO: '2025-06-02' } });
    const bars = await rig.source.fetchBars(daily('NEWCO', utc(2024, 1, 1), utc(2025, 7, 1)));
    expect(iso(bars[0].ts)).toBe('2025-06-02');
    expect(rig.sim.historicalRequests('NEWCO')).toHaveLength(2);
    expect(rig.source.stats.noData).toBe(1);
  });
});

describe('intraday bars', () => {
  it('splits 1-minute bars into one request per day and keeps regular trading hours', async () => {
    rig = await startRig();
    const progress: HistoricalFetchProgress[] = [];
    const bars = await rig.source.fetchBars(
      { ...daily('NVDA', utc(2026, 1, 5), utc(2026, 1, 8)), barSize: '1 min' },
      { onProgress: (p) => progress.push(p) },
    );
    const requests = rig.sim.historicalRequests('NVDA');
    expect(requests).toHaveLength(3);
    expect(requests.every((r) => r.duration === '86400 S' && /^\d{8}-\d{2}:\d{2}:\d{2}$/.test(r.end ?? ''))).toBe(true);
    expect(bars).toHaveLength(3 * 390);
    expect(new Date(bars[0].ts).toISOString()).toBe('2026-01-05T14:30:00.000Z'); // 09:30 New York (EST)
    expect(new Date(bars.at(-1)!.ts).toISOString()).toBe('2026-01-07T20:59:00.000Z');
    expect(new Set(bars.map((b) => b.ts)).size).toBe(bars.length);
    expect(progress.at(-1)).toEqual({ symbol: 'NVDA', done: 3, total: 3 });
  });

  it('follows daylight saving time and skips the weekend (empty pieces are not errors)', async () => {
    rig = await startRig();
    const bars = await rig.source.fetchBars({ ...daily('NVDA', utc(2025, 7, 11), utc(2025, 7, 14)), barSize: '5 mins' });
    expect(new Date(bars[0].ts).toISOString()).toBe('2025-07-11T13:30:00.000Z'); // 09:30 EDT
    expect(bars).toHaveLength(78); // Friday only
    expect(rig.sim.historicalRequests('NVDA')).toHaveLength(1);
    const weekend = await rig.source.fetchBars({ ...daily('NVDA', utc(2025, 7, 12), utc(2025, 7, 14)), barSize: '1 min' });
    expect(weekend).toEqual([]);
  });

  it('never sends a piece that meets no regular session (US stock, regular hours): weekends, holidays, nights', async () => {
    rig = await startRig();
    const weekend = await rig.source.fetchBars({ ...daily('NVDA', utc(2025, 7, 12), utc(2025, 7, 14)), barSize: '1 min' });
    const holiday = await rig.source.fetchBars({ ...daily('NVDA', utc(2025, 7, 4), utc(2025, 7, 5)), barSize: '1 min' });
    expect(weekend).toEqual([]);
    expect(holiday).toEqual([]);
    expect(rig.sim.historicalRequests('NVDA')).toHaveLength(0);

    // A day of 5-second bars is 24 one-hour pieces; only 13:00–20:00 UTC meets 09:30–16:00 New York (EDT).
    const arrived: number[] = [];
    const day = await rig.source.fetchBars(
      { ...daily('NVDA', utc(2025, 7, 11), utc(2025, 7, 12)), barSize: '5 secs' },
      { onPiece: (piece) => arrived.push(piece.start) },
    );
    expect(day).toHaveLength(390 * 12);
    const asked = rig.sim.historicalRequests('NVDA');
    expect(asked.map((r) => r.end).sort()).toEqual([14, 15, 16, 17, 18, 19, 20].map((h) => `20250711-${h}:00:00`));
    expect(arrived).toHaveLength(24); // the skipped pieces are handed over too, as empty
    expect(rig.source.stats.skipped).toBe(2 + 1 + 17);

    // Outside regular hours the venue decides (overnight trading): every piece is asked.
    await rig.source.fetchBars({ ...daily('AMD', utc(2025, 7, 12), utc(2025, 7, 14)), barSize: '1 min', useRTH: false });
    expect(rig.sim.historicalRequests('AMD')).toHaveLength(2);
  });

  it('keeps requests within the concurrency cap', async () => {
    rig = await startRig({ latencyMs: 60 }, {}, { maxConcurrent: 2 });
    const bars = await rig.source.fetchBars({ ...daily('AMD', utc(2026, 1, 5), utc(2026, 1, 10)), barSize: '1 min' });
    expect(bars).toHaveLength(5 * 390);
    expect(rig.sim.historicalRequests('AMD')).toHaveLength(5);
    expect(rig.sim.stats.maxOpenHistorical).toBe(2);
  });

  it("paces small bars so a gateway enforcing IBKR's rules never reports a violation", async () => {
    rig = await startRig({ enforcePacing: true });
    const started = Date.now();
    const bars = await rig.source.fetchBars({ ...daily('NVDA', utc(2026, 1, 5, 14), utc(2026, 1, 5, 20)), barSize: '30 secs' });
    expect(rig.sim.historicalRequests('NVDA')).toHaveLength(6);
    expect(rig.sim.stats.errorsSent[162] ?? 0).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900); // the 6th waited for the 2 s window
    expect(bars.length).toBe(6 * 120 - 60); // 14:00–14:30 UTC is before the 14:30 open
  });
});

describe('faults', () => {
  it('retries pacing violations (162) and still returns the bars', async () => {
    rig = await startRig({ pacingViolations: 2 });
    const bars = await rig.source.fetchBars(daily('NVDA', utc(2026, 1, 5), utc(2026, 1, 10)));
    expect(bars).toHaveLength(5);
    expect(rig.sim.historicalRequests('NVDA')).toHaveLength(3);
    expect(rig.source.stats.retries).toBe(2);
    expect(rig.logs.some((l) => l.msg === 'IBKR request will be retried' && String(l.error).includes('pacing violation'))).toBe(
      true,
    );
  });

  it('survives a gateway that flags every 3rd request as a pacing violation', async () => {
    rig = await startRig({ pacingViolationEvery: 3 });
    const bars = await rig.source.fetchBars({ ...daily('NVDA', utc(2026, 1, 5), utc(2026, 1, 10)), barSize: '1 min' });
    expect(bars).toHaveLength(5 * 390);
    expect(rig.sim.stats.errorsSent[162]).toBeGreaterThanOrEqual(1);
    expect(rig.source.stats.retries).toBe(rig.sim.stats.errorsSent[162]);
  });

  it('answers "no data" with an empty list', async () => {
    rig = await startRig({ noDataSymbols: ['QUIET'] });
    expect(await rig.source.fetchBars(daily('QUIET', utc(2026, 1, 5), utc(2026, 1, 10)))).toEqual([]);
  });

  it('explains a missing market-data permission (354)', async () => {
    rig = await startRig({ noPermissionSymbols: ['NVDA'] });
    const err = await rig.source.fetchBars(daily('NVDA', utc(2026, 1, 5), utc(2026, 1, 10))).catch((e) => e);
    expect(err).toBeInstanceOf(IbkrError);
    expect(err.code).toBe('IBKR_NO_PERMISSION');
    expect(err.ibkrCode).toBe(354);
    expect(err.message).toMatch(/No market-data permission for NVDA/);
  });

  it('names an unknown symbol and sends no historical request for it', async () => {
    rig = await startRig({ unknownSymbols: ['NOSUCH'] });
    const err = await rig.source.fetchBars(daily('NOSUCH', utc(2026, 1, 5), utc(2026, 1, 10))).catch((e) => e);
    expect(err.code).toBe('IBKR_UNKNOWN_SYMBOL');
    expect(err.message).toContain('NOSUCH');
    expect(rig.sim.stats.historicalRequests).toBe(0);
  });

  it('rides out a connection dropped mid-request: the cut-off piece is sent again after the reconnect', async () => {
    rig = await startRig({ latencyMs: 30 });
    rig.sim.set({ dropConnectionOnRequest: 2 });
    const pieces: { start: number; end: number; bars: number }[] = [];
    const bars = await rig.source.fetchBars(
      { ...daily('NVDA', utc(2026, 1, 5), utc(2026, 1, 8)), barSize: '1 min' },
      { onPiece: (piece, got) => pieces.push({ ...piece, bars: got.length }) },
    );
    expect(rig.sim.stats.droppedConnections).toBe(1);
    expect(bars).toHaveLength(3 * 390);
    expect(new Set(bars.map((b) => b.ts)).size).toBe(bars.length);
    expect(rig.source.stats.retries).toBeGreaterThanOrEqual(1);
    expect(pieces).toHaveLength(3);
    expect(pieces.reduce((n, p) => n + p.bars, 0)).toBe(3 * 390);
    expect(rig.logs.some((r) => r.msg === 'IBKR request will be retried' && /lost/.test(String(r.error)))).toBe(true);
  });

  it('with no retries left, a dropped connection fails the fetch; the pieces that arrived were handed over', async () => {
    rig = await startRig({ latencyMs: 30 });
    const once = new IbkrHistoricalSource({
      connection: rig.conn,
      limiter: new PacingLimiter(),
      retry: { attempts: 1, baseMs: 10, maxMs: 10 },
    });
    rig.sim.set({ dropConnectionOnRequest: 3 });
    const arrived: { start: number; end: number }[] = [];
    const err = await once
      .fetchBars(
        { ...daily('NVDA', utc(2026, 1, 5), utc(2026, 1, 8)), barSize: '1 min' },
        { onPiece: (piece) => arrived.push(piece) },
      )
      .catch((e) => e);
    expect(err).toBeInstanceOf(IbkrError);
    expect(err.code).toBe('IBKR_DISCONNECTED');
    expect(arrived.length).toBeGreaterThanOrEqual(1);
    expect(arrived.length).toBeLessThan(3);
    await rig.conn.waitForConnected(5_000);
    const bars = await once.fetchBars({ ...daily('NVDA', utc(2026, 1, 5), utc(2026, 1, 8)), barSize: '1 min' });
    expect(bars).toHaveLength(3 * 390);
  });

  it('times out and retries a request the gateway is slow to answer', async () => {
    rig = await startRig({ latencyMs: 400 }, { requestTimeoutMs: 150 });
    await rig.conn.resolveContract('NVDA', 'NASDAQ', 'USD', { timeoutMs: 2_000 });
    const fetching = rig.source.fetchBars(daily('NVDA', utc(2026, 1, 5), utc(2026, 1, 10))).catch((e) => e);
    await waitFor(() => rig!.sim.historicalRequests('NVDA').length >= 1, 'the first request');
    rig.sim.set({ latencyMs: 0 });
    const bars = await fetching;
    expect(bars).toHaveLength(5);
    expect(rig.source.stats.retries).toBe(1);
  });

  it('sends a request that timed out once more, not again and again: a gateway sitting on it fails the fetch', async () => {
    rig = await startRig({}, { requestTimeoutMs: 150 });
    await rig.conn.resolveContract('NVDA', 'NASDAQ', 'USD', { timeoutMs: 2_000 });
    rig.sim.set({ latencyMs: 5_000 });
    const progress: string[] = [];
    const err = await rig.source
      .fetchBars(daily('NVDA', utc(2026, 1, 5), utc(2026, 1, 10)), { onProgress: (p) => p.retrying && progress.push(p.retrying) })
      .catch((e) => e);
    expect(err.code).toBe('IBKR_TIMEOUT');
    expect(rig.sim.historicalRequests('NVDA')).toHaveLength(2);
    // The wait before the second try is visible to whoever shows progress.
    expect(progress).toEqual([expect.stringMatching(/no answer from IB Gateway.*asking again in \d+ s \(try 2\)/)]);
  });
});
