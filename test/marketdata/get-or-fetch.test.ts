/**
 * A trader's bars come from IBKR once and from the cache afterwards. Every test fetches through the real
 * IBKR client from the simulated gateway and writes real DuckDB/SQLite files in a temp folder.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { settleMs } from '../../core/marketdata';
import { type CacheRig, DAY, HOUR, NOW, openCacheRig } from './rig';

let rig: CacheRig | undefined;
afterEach(async () => {
  await rig?.dispose();
  rig = undefined;
});

const YEAR = 365 * DAY;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

function strictlyIncreasing(ts: ArrayLike<number>): boolean {
  for (let i = 1; i < ts.length; i++) if (!(ts[i] > ts[i - 1])) return false;
  return true;
}

describe('getOrFetch: cold, warm, stale', () => {
  it('fetches a year of daily bars once, then serves it from the cache without a single request', async () => {
    rig = await openCacheRig();
    const cold = await rig.cache.getOrFetch('NVDA', NOW - YEAR, NOW, '1 day');
    const coldRequests = rig.requests('NVDA');
    expect(coldRequests).toBeGreaterThanOrEqual(1);
    expect(cold.columns.ts.length).toBeGreaterThan(240);
    expect(cold.columns.ts.length).toBeLessThan(260);
    expect(cold.lineage).toMatchObject({ mode: 'cache', hit: false, rowsFromCache: 0, rowsFromIbkr: cold.columns.ts.length });
    expect(strictlyIncreasing(cold.columns.ts)).toBe(true);
    expect(cold.columns.close).toBeInstanceOf(Float64Array);
    // Only trading days: no Saturday or Sunday bars.
    expect(Array.from(cold.columns.ts).every((t) => ![0, 6].includes(new Date(t).getUTCDay()))).toBe(true);

    await rig.clock.advance(2 * HOUR);
    const warm = await rig.cache.getOrFetch('NVDA', NOW - YEAR, rig.clock.now(), '1 day');
    expect(rig.requests('NVDA')).toBe(coldRequests);
    expect(warm.lineage).toMatchObject({ hit: true, rowsFromIbkr: 0, rowsFromCache: cold.columns.ts.length, fetchedRanges: [] });
    expect(Array.from(warm.columns.close)).toEqual(Array.from(cold.columns.close));

    const key = rig.cache.seriesKey('NVDA', '1 day');
    expect(rig.cache.stats(key)).toMatchObject({ hits: 1, misses: 1 });
    expect(rig.logs.some((l) => l.msg === 'cache miss' && l.symbol === 'NVDA')).toBe(true);
    expect(rig.logs.some((l) => l.msg === 'cache hit' && l.symbol === 'NVDA')).toBe(true);
  });

  it('after CACHE_TTL_HOURS re-fetches only the stale tail, in one request, and keeps every older bar untouched', async () => {
    rig = await openCacheRig({ env: { CACHE_TTL_HOURS: '24' } });
    const key = rig.cache.seriesKey('TSLA', '1 day');
    await rig.cache.getOrFetch('TSLA', NOW - YEAR, NOW, '1 day');
    const before = await rig.tableRows(key);
    const requestsBefore = rig.requests('TSLA');

    await rig.clock.advance(2 * DAY + 3 * HOUR); // Friday 18:00 UTC: TTL long expired
    const later = rig.clock.now();
    const res = await rig.cache.getOrFetch('TSLA', NOW - YEAR, later, '1 day');
    expect(rig.requests('TSLA') - requestsBefore).toBe(1);
    expect(res.lineage.fetchedRanges).toEqual([{ start: NOW - settleMs('1 day'), end: later }]);
    expect(res.lineage.staleRanges).toEqual([{ start: NOW - settleMs('1 day'), end: NOW }]);
    const sent = rig.sim.historicalRequests('TSLA').at(-1);
    expect(sent?.duration).toMatch(/^\d+ [SD]$/); // days, not a year

    const after = await rig.tableRows(key);
    expect(strictlyIncreasing(after.map((r) => r.ts))).toBe(true);
    // Thursday and Friday are new; everything before the stale tail still carries its first fetch time.
    expect(after.length).toBe(before.length + 2);
    const tailStart = NOW - settleMs('1 day');
    for (const row of after.filter((r) => r.ts < tailStart)) expect(row.fetched).toBe(NOW);
    for (const row of after.filter((r) => r.ts >= tailStart)) expect(row.fetched).toBe(later);
    expect(res.lineage.rowsFromIbkr).toBe(after.filter((r) => r.ts >= tailStart).length);
  });

  it('never fetches a weekend, a holiday or the time before listing twice, however old the coverage gets', async () => {
    rig = await openCacheRig({ sim: { listingDates: { NEWCO: '2025-06-02' } } });
    const weekend = await rig.cache.getOrFetch('NVDA', day('2025-06-07'), day('2025-06-09'), '1 day');
    const christmas = await rig.cache.getOrFetch('NVDA', day('2025-12-25'), day('2025-12-26'), '1 day');
    const preListing = await rig.cache.getOrFetch('NEWCO', day('2025-01-01'), day('2025-07-01'), '1 day');
    expect(weekend.columns.ts.length).toBe(0);
    expect(christmas.columns.ts.length).toBe(0);
    expect(preListing.columns.ts.length).toBeGreaterThan(15);
    expect(Math.min(...preListing.columns.ts)).toBeGreaterThanOrEqual(day('2025-06-02'));
    const nvdaCoverage = await rig.coverageRows(rig.cache.seriesKey('NVDA', '1 day'));
    expect(nvdaCoverage.map((c) => c.rowCount)).toEqual([0, 0]);
    const requests = rig.requests();

    await rig.clock.advance(400 * DAY);
    const again = [
      await rig.cache.getOrFetch('NVDA', day('2025-06-07'), day('2025-06-09'), '1 day'),
      await rig.cache.getOrFetch('NVDA', day('2025-12-25'), day('2025-12-26'), '1 day'),
      await rig.cache.getOrFetch('NEWCO', day('2025-01-01'), day('2025-06-01'), '1 day'),
    ];
    expect(rig.requests()).toBe(requests);
    expect(again.every((r) => r.lineage.hit && r.columns.ts.length === 0)).toBe(true);
  });

  it('refuses up front a fetch that would take more requests than MAX_REQUESTS_PER_FETCH, naming the range', async () => {
    rig = await openCacheRig();
    // One-minute bars since year 1: hundreds of thousands of pieces (one-second bars: tens of millions, which once
    // exhausted the memory — those are now refused earlier still, see below).
    await expect(rig.cache.getOrFetch('NVDA', Date.parse('0001-01-01T00:00:00Z'), NOW, '1 min')).rejects.toMatchObject({
      code: 'RANGE_TOO_LONG',
      status: 400,
      message: expect.stringMatching(/NVDA 1 min bars from .* would take \d+ IBKR requests/),
    });
    expect(rig.requests('NVDA')).toBe(0);
    // IBKR keeps bars of 30 s or less for six months: an older fetch is refused without a request.
    await expect(rig.cache.getOrFetch('NVDA', NOW - YEAR, NOW - YEAR + HOUR, '5 secs')).rejects.toMatchObject({
      code: 'TOO_OLD_FOR_BAR_SIZE',
      message: expect.stringContaining('no 5 secs bars older than six months'),
    });
    expect(rig.requests('NVDA')).toBe(0);
    // A long but sane range is still fetched.
    const years = await rig.cache.getOrFetch('NVDA', NOW - 3 * YEAR, NOW, '1 day');
    expect(years.columns.ts.length).toBeGreaterThan(700);
  });

  it('fills only the gap between two cached ranges', async () => {
    rig = await openCacheRig();
    await rig.cache.getOrFetch('AMD', day('2025-01-01'), day('2025-03-01'), '1 day');
    await rig.cache.getOrFetch('AMD', day('2025-06-01'), day('2025-08-01'), '1 day');
    const res = await rig.cache.getOrFetch('AMD', day('2025-01-01'), day('2025-08-01'), '1 day');
    expect(res.lineage.fetchedRanges).toEqual([{ start: day('2025-03-01'), end: day('2025-06-01') }]);
    expect(res.lineage.rowsFromIbkr).toBeGreaterThan(55);
    expect(res.lineage.rowsFromCache).toBeGreaterThan(70);
    expect(strictlyIncreasing(res.columns.ts)).toBe(true);
  });

  it('two callers asking for the same series at once cause one fetch, not two', async () => {
    rig = await openCacheRig({ sim: { latencyMs: 100 } });
    const [a, b] = await Promise.all([
      rig.cache.getOrFetch('MSFT', NOW - 200 * DAY, NOW, '1 day'),
      rig.cache.getOrFetch('MSFT', NOW - 200 * DAY, NOW, '1 day'),
    ]);
    expect(rig.requests('MSFT')).toBe(1);
    expect([a.lineage.hit, b.lineage.hit].sort()).toEqual([false, true]);
    expect(Array.from(a.columns.ts)).toEqual(Array.from(b.columns.ts));
  });
});

describe('CACHE_ENABLED and DEBUG_MODE', () => {
  it('with CACHE_ENABLED=false every call goes to IBKR (and the cache still holds one copy of each bar)', async () => {
    rig = await openCacheRig({ env: { CACHE_ENABLED: 'false' } });
    const first = await rig.cache.getOrFetch('NVDA', NOW - 30 * DAY, NOW, '1 day');
    const second = await rig.cache.getOrFetch('NVDA', NOW - 30 * DAY, NOW, '1 day');
    expect(rig.requests('NVDA')).toBe(2);
    expect(second.lineage).toMatchObject({ mode: 'always-fetch', hit: false, rowsFromCache: 0 });
    expect(second.lineage.rowsFromIbkr).toBe(first.columns.ts.length);
    const rows = await rig.tableRows(rig.cache.seriesKey('NVDA', '1 day'));
    expect(rows.length).toBe(first.columns.ts.length);
  });

  it('in DEBUG_MODE replays from the cache with the gateway gone, says so, and names what is missing', async () => {
    rig = await openCacheRig();
    const online = await rig.cache.getOrFetch('NVDA', NOW - 90 * DAY, NOW, '1 day');
    await rig.connection.stop('going offline');
    await rig.sim.stop();
    rig.ws.settings.update({ DEBUG_MODE: true });

    await rig.clock.advance(10 * DAY); // stale by any TTL: offline replay serves it anyway
    const replay = await rig.cache.getOrFetch('NVDA', NOW - 90 * DAY, NOW, '1 day');
    expect(replay.lineage).toMatchObject({ mode: 'cache-only', hit: true, rowsFromIbkr: 0, missingRanges: [] });
    expect(Array.from(replay.columns.close)).toEqual(Array.from(online.columns.close));

    const wider = await rig.cache.getOrFetch('NVDA', NOW - 120 * DAY, rig.clock.now(), '1 day');
    expect(wider.lineage.mode).toBe('cache-only');
    expect(wider.lineage.missingRanges.length).toBe(2);
    expect(wider.columns.ts.length).toBe(online.columns.ts.length);
    expect(rig.logs.some((l) => l.level === 'warn' && /offline replay/.test(l.msg))).toBe(true);
  });

  it('options.offline asks for a cache-only read for one call even when DEBUG_MODE is off', async () => {
    rig = await openCacheRig();
    const res = await rig.cache.getOrFetch('NVDA', NOW - 10 * DAY, NOW, '1 day', { offline: true });
    expect(res.lineage.mode).toBe('cache-only');
    expect(res.columns.ts.length).toBe(0);
    expect(rig.requests()).toBe(0);
  });
});

describe('getOrFetch: data types', () => {
  it('keeps IBKR\'s "not available" (-1) volume, WAP and count of MIDPOINT bars as missing, not as 0', async () => {
    rig = await openCacheRig();
    const mid = await rig.cache.getOrFetch('NVDA', day('2025-03-03'), day('2025-03-08'), '1 day', { whatToShow: 'MIDPOINT' });
    const trades = await rig.cache.getOrFetch('NVDA', day('2025-03-03'), day('2025-03-08'), '1 day');
    expect(mid.columns.ts.length).toBe(5);
    expect(Array.from(mid.columns.volume).every(Number.isNaN)).toBe(true);
    expect(Array.from(trades.columns.volume).every((v) => v > 0)).toBe(true);
    const stored = await rig.ws.stores.warehouse.rows<{
      data_type: string;
      wap: number | null;
      bar_count: number | null;
      no_volume: boolean;
    }>(`SELECT data_type, wap, bar_count, isnan(volume) AS no_volume FROM bars WHERE symbol = 'NVDA' ORDER BY data_type, ts`);
    const midRows = stored.filter((r) => r.data_type === 'MIDPOINT');
    expect(midRows).toHaveLength(5);
    expect(midRows.every((r) => r.wap === null && r.bar_count === null && r.no_volume)).toBe(true);
    expect(stored.filter((r) => r.data_type === 'TRADES').every((r) => r.wap! > 0 && r.bar_count! > 0 && !r.no_volume)).toBe(
      true,
    );
  });
});
