/**
 * When IBKR says no, or the gateway goes away, the trader gets a clear error and the cache keeps every
 * row it had (plus whole pieces that arrived before the failure): no half pieces, nothing duplicated. Faults come from the simulator's switches.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CacheProgress } from '../../core/api/cache';
import { IbkrError } from '../../core/ibkr';
import { runRefresh, type SeriesKey } from '../../core/marketdata';
import { type CacheRig, DAY, NOW, openCacheRig } from './rig';

let rig: CacheRig | undefined;
afterEach(async () => {
  await rig?.dispose();
  rig = undefined;
});

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

async function snapshot(r: CacheRig, key: SeriesKey) {
  return { bars: await r.tableRows(key), coverage: await r.coverageRows(key) };
}

async function failure(p: Promise<unknown>): Promise<IbkrError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IbkrError);
  return err as IbkrError;
}

describe('IBKR refuses', () => {
  it('an unknown symbol is named in the error and leaves no trace in the cache', async () => {
    rig = await openCacheRig({ sim: { unknownSymbols: ['NOSUCH'] } });
    const nvda = rig.cache.seriesKey('NVDA', '1 day');
    await rig.cache.getOrFetch('NVDA', NOW - 60 * DAY, NOW, '1 day');
    const before = await snapshot(rig, nvda);

    const err = await failure(rig.cache.getOrFetch('NOSUCH', NOW - 60 * DAY, NOW, '1 day'));
    expect(err.ibkrCode).toBe(200);
    expect(err.message).toContain('NOSUCH');
    expect(await snapshot(rig, rig.cache.seriesKey('NOSUCH', '1 day'))).toEqual({ bars: [], coverage: [] });
    expect(await snapshot(rig, nvda)).toEqual(before);
  });

  it('no market-data permission is reported as such and nothing is written', async () => {
    rig = await openCacheRig({ sim: { noPermissionSymbols: ['PERM'] } });
    const err = await failure(rig.cache.getOrFetch('PERM', NOW - 60 * DAY, NOW, '1 day'));
    expect(err.ibkrCode).toBe(354);
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/permission|subscri/i);
    expect(await snapshot(rig, rig.cache.seriesKey('PERM', '1 day'))).toEqual({ bars: [], coverage: [] });
  });

  it('"no data" is an empty answer, remembered, and not asked again', async () => {
    rig = await openCacheRig({ sim: { noDataSymbols: ['EMPTY'] } });
    const first = await rig.cache.getOrFetch('EMPTY', day('2025-03-01'), day('2025-04-01'), '1 day');
    expect(first.columns.ts.length).toBe(0);
    expect(first.lineage).toMatchObject({ hit: false, rowsFromIbkr: 0 });
    expect(await rig.coverageRows(rig.cache.seriesKey('EMPTY', '1 day'))).toMatchObject([{ rowCount: 0 }]);
    const requests = rig.requests('EMPTY');
    const second = await rig.cache.getOrFetch('EMPTY', day('2025-03-01'), day('2025-04-01'), '1 day');
    expect(second.lineage.hit).toBe(true);
    expect(rig.requests('EMPTY')).toBe(requests);
  });

  it('a re-fetch IBKR answers with "no data" keeps every bar the cache had', async () => {
    rig = await openCacheRig();
    const key = rig.cache.seriesKey('NVDA', '1 day');
    await rig.cache.getOrFetch('NVDA', NOW - 30 * DAY, NOW, '1 day');
    const before = (await rig.tableRows(key)).map((b) => b.ts);
    expect(before.length).toBeGreaterThan(15);
    // Always fetch: the whole range is asked again, and this time IBKR has nothing.
    rig.ws.settings.update({ CACHE_ENABLED: false });
    rig.sim.set({ noDataSymbols: ['NVDA'] });
    const requests = rig.requests('NVDA');
    const again = await rig.cache.getOrFetch('NVDA', NOW - 30 * DAY, NOW, '1 day');
    expect(rig.requests('NVDA')).toBeGreaterThan(requests);
    expect(Array.from(again.columns.ts)).toEqual(before);
    expect((await rig.tableRows(key)).map((b) => b.ts)).toEqual(before);
    // The range is not recorded as empty: with the cache back on, it is served from the cache as it was.
    rig.ws.settings.update({ CACHE_ENABLED: true });
    const cached = await rig.cache.getOrFetch('NVDA', NOW - 30 * DAY, NOW, '1 day');
    expect([cached.lineage.hit, cached.columns.ts.length]).toEqual([true, before.length]);
  });

  it('reads bar times sent as TWS wall time with a zone; times it cannot read fail the fetch and store nothing', async () => {
    rig = await openCacheRig();
    const plain = await rig.cache.getOrFetch('NVDA', day('2025-03-03'), day('2025-03-05'), '1 hour');
    await rig.dispose();
    rig = await openCacheRig({ sim: { intradayTimeFormat: 'tws-zone' } });
    const zoned = await rig.cache.getOrFetch('NVDA', day('2025-03-03'), day('2025-03-05'), '1 hour');
    expect(zoned.columns.ts.length).toBeGreaterThan(10);
    expect(Array.from(zoned.columns.ts)).toEqual(Array.from(plain.columns.ts));

    rig.sim.set({ intradayTimeFormat: 'unreadable' });
    const key = rig.cache.seriesKey('NVDA', '1 hour');
    const before = await snapshot(rig, key);
    const err = await failure(rig.cache.getOrFetch('NVDA', day('2025-03-05'), day('2025-03-07'), '1 hour'));
    expect(err.code).toBe('IBKR_BAD_DATA');
    expect(err.message).toMatch(/NVDA bar time .*"bar@/);
    expect(await snapshot(rig, key)).toEqual(before);
  });

  it('pacing violations are retried, and the bars land exactly once', async () => {
    rig = await openCacheRig();
    rig.sim.set({ pacingViolations: 2 });
    const res = await rig.cache.getOrFetch('NVDA', NOW - 100 * DAY, NOW, '1 day');
    expect(rig.sim.stats.errorsSent[162]).toBe(2);
    expect(rig.requests('NVDA')).toBe(3);
    const rows = await rig.tableRows(rig.cache.seriesKey('NVDA', '1 day'));
    expect(rows.length).toBe(res.columns.ts.length);
    expect(new Set(rows.map((r) => r.ts)).size).toBe(rows.length);
    expect(res.columns.ts.length).toBeGreaterThan(60);
  });
});

describe('the gateway goes away', () => {
  it('with the gateway down the fetch fails clearly and the cache is exactly as it was', async () => {
    rig = await openCacheRig({ requestTimeoutMs: 1_500 });
    const key = rig.cache.seriesKey('NVDA', '1 day');
    await rig.cache.getOrFetch('NVDA', NOW - 30 * DAY, NOW, '1 day');
    const before = await snapshot(rig, key);
    await rig.sim.stop();

    const err = await failure(rig.cache.getOrFetch('NVDA', NOW - 90 * DAY, NOW, '1 day'));
    expect(err.code).toMatch(/NOT_CONNECTED|DISCONNECTED|CONNECT_FAILED|TIMEOUT/);
    expect(await snapshot(rig, key)).toEqual(before);
    // What was cached is still served (the failed call did not poison the series).
    const cached = await rig.cache.getOrFetch('NVDA', NOW - 30 * DAY, NOW, '1 day');
    expect(cached.lineage.hit).toBe(true);
    expect(cached.columns.ts.length).toBe(before.bars.length);
  });

  it('a connection dropped in the middle of a multi-range fetch keeps what arrived; the retry fetches only the rest, without duplicates', async () => {
    rig = await openCacheRig({ sourceAttempts: 1 });
    const key = rig.cache.seriesKey('AAPL', '1 day');
    await rig.cache.getOrFetch('AAPL', day('2025-03-01'), day('2025-06-01'), '1 day');
    const before = await snapshot(rig, key);

    // Two gaps: Jan–Mar succeeds, then the connection drops on the Jun–Aug request (no retries allowed).
    rig.sim.set({ dropConnectionOnRequest: 2 });
    const err = await failure(rig.cache.getOrFetch('AAPL', day('2025-01-01'), day('2025-08-01'), '1 day'));
    expect(err.code).toMatch(/DISCONNECTED|NOT_CONNECTED|TIMEOUT/);
    expect(rig.sim.stats.droppedConnections).toBe(1);
    const after = await snapshot(rig, key);
    const kept = after.bars.filter((b) => b.ts < day('2025-03-01'));
    expect(kept.length).toBeGreaterThan(35);
    expect(after.bars.length).toBe(before.bars.length + kept.length);
    expect(after.bars.some((b) => b.ts >= day('2025-06-01'))).toBe(false);

    await rig.connection.waitForConnected(5_000);
    const requests = rig.sim.stats.historicalRequests;
    const healed = await rig.cache.getOrFetch('AAPL', day('2025-01-01'), day('2025-08-01'), '1 day');
    expect(healed.lineage.fetchedRanges).toEqual([{ start: day('2025-06-01'), end: day('2025-08-01') }]);
    expect(rig.sim.stats.historicalRequests - requests).toBe(1);
    const rows = await rig.tableRows(key);
    expect(new Set(rows.map((r) => r.ts)).size).toBe(rows.length);
    expect(rows.length).toBe(healed.columns.ts.length);
    // Same bars as a clean fetch of the whole range for another series of the same symbol.
    const clean = await rig.cache.getOrFetch('AAPL', day('2025-01-01'), day('2025-08-01'), '1 day', { useRTH: false });
    expect(Array.from(healed.columns.ts)).toEqual(Array.from(clean.columns.ts));
  });
});

describe('a refresh job rides out a dropped connection', () => {
  it('retries the symbol whose request was cut off, reports the retry, and ends complete', async () => {
    rig = await openCacheRig({ sourceAttempts: 1, sim: { dropConnectionOnRequest: 1 } });
    const events: CacheProgress[] = [];
    const summary = await runRefresh(
      rig.cache,
      { symbols: ['NVDA'], daysBack: 120, barSize: '1 day', dataType: 'TRADES', useRTH: true },
      { jobId: 'job-1', clock: rig.clock, retryBaseMs: 50, onProgress: (p) => events.push(p) },
    );
    expect(summary.fetched).toEqual(['NVDA']);
    expect(summary.failed).toEqual([]);
    const nvda = events.filter((e) => e.kind === 'symbol' && e.symbol === 'NVDA');
    const retrying = nvda.find((e) => e.kind === 'symbol' && e.status === 'retrying');
    expect(retrying?.kind === 'symbol' && retrying.error?.code).toMatch(/DISCONNECTED|NOT_CONNECTED/);
    expect(nvda.at(-1)).toMatchObject({ status: 'done', attempt: 2 });
    const rows = await rig.tableRows(rig.cache.seriesKey('NVDA', '1 day'));
    expect(new Set(rows.map((r) => r.ts)).size).toBe(rows.length);
    expect(rows.length).toBeGreaterThan(75);
  });

  it('does not retry what cannot succeed: no permission fails once, named in the progress', async () => {
    rig = await openCacheRig({ sim: { noPermissionSymbols: ['PERM'] } });
    const events: CacheProgress[] = [];
    const summary = await runRefresh(
      rig.cache,
      { symbols: ['PERM'], daysBack: 30, barSize: '1 day', dataType: 'TRADES', useRTH: true },
      { jobId: 'job-2', clock: rig.clock, retryBaseMs: 50, onProgress: (p) => events.push(p) },
    );
    expect(summary.failed).toMatchObject([{ symbol: 'PERM', error: { ibkrCode: 354 } }]);
    expect(rig.requests('PERM')).toBe(1);
    expect(events.some((e) => e.kind === 'symbol' && e.status === 'retrying')).toBe(false);
    expect(events.at(-1)).toMatchObject({ kind: 'summary', jobId: 'job-2' });
  });
});
