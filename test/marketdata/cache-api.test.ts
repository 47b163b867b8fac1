/**
 * The cache contract as the UI uses it: a demo workstation (its own simulated IB Gateway) and every
 * call through the dispatcher, the same path the HTTP and IPC bridges take.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CacheProgress, RefreshSummary } from '../../core/api/cache';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

let t: TestWorkstation | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

/** ISO midnight UTC of the Monday `n` weeks back. */
function mondayWeeksAgo(n: number): string {
  const d = new Date(Date.now() - n * 7 * 86_400_000);
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString();
}

async function call(method: string, input: unknown) {
  if (!t) throw new Error('no workstation');
  return t.ws.dispatcher.call(method, input);
}

async function ok<T = Record<string, unknown>>(method: string, input: unknown): Promise<T> {
  const res = await call(method, input);
  if (!res.ok) throw new Error(`${method} failed: ${res.error.message}`);
  return res.result as T;
}

/** Starts a refresh and collects its progress events until the summary arrives. */
async function refreshAndWait(input: unknown): Promise<{ jobId: string; events: CacheProgress[]; summary: RefreshSummary }> {
  if (!t) throw new Error('no workstation');
  const events: CacheProgress[] = [];
  let resolveSummary: (s: RefreshSummary) => void = () => undefined;
  const done = new Promise<RefreshSummary>((resolve) => {
    resolveSummary = resolve;
  });
  const off = t.ws.events.subscribe((name, payload) => {
    if (name !== 'cache.progress') return;
    const p = payload as CacheProgress;
    events.push(p);
    if (p.kind === 'summary') resolveSummary(p.summary);
  });
  try {
    const { jobId } = await ok<{ jobId: string }>('cache.refresh', input);
    const summary = await Promise.race([
      done,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no summary within 20 s')), 20_000)),
    ]);
    return { jobId, events: events.filter((e) => e.jobId === jobId), summary };
  } finally {
    off();
  }
}

describe('cache.* over the dispatcher (demo gateway)', () => {
  it('refreshes CACHE_SYMBOLS with progress per symbol and overall, then lists, reads columns and clears', async () => {
    t = await openTestWorkstation({ CACHE_SYMBOLS: 'NVDA,TSLA' }, { demo: true });
    expect(await ok('cache.list', {})).toMatchObject({ entries: [], symbols: ['NVDA', 'TSLA'], refreshing: null });

    const first = await refreshAndWait({});
    expect(first.jobId).toMatch(/^refresh-/);
    expect(first.summary).toMatchObject({ symbolsTotal: 2, fetched: ['NVDA', 'TSLA'], cached: [], failed: [] });
    expect(first.summary.rowsFetched).toBeGreaterThan(480);
    for (const s of ['NVDA', 'TSLA']) {
      const statuses = first.events
        .filter((e) => e.kind === 'symbol' && e.symbol === s)
        .map((e) => (e.kind === 'symbol' ? e.status : ''));
      expect(statuses[0]).toBe('queued');
      expect(statuses).toContain('fetching');
      expect(statuses.at(-1)).toBe('done');
    }
    const overall = first.events.filter((e) => e.kind === 'overall');
    expect(overall.at(-1)).toMatchObject({ symbolsDone: 2, symbolsTotal: 2, failed: 0 });
    expect(first.events.at(-1)?.kind).toBe('summary');

    // Second refresh within the TTL: nothing to fetch; the unknown symbol fails with its name and IBKR code.
    const second = await refreshAndWait({ symbols: ['NVDA', 'NOSUCH'] });
    expect(second.summary.cached).toEqual(['NVDA']);
    expect(second.summary.failed).toHaveLength(1);
    expect(second.summary.failed[0]).toMatchObject({ symbol: 'NOSUCH', error: { ibkrCode: 200 } });
    expect(second.summary.failed[0].error.message).toContain('NOSUCH');
    const failedEvent = second.events.find((e) => e.kind === 'symbol' && e.symbol === 'NOSUCH' && e.status === 'failed');
    expect(failedEvent).toBeDefined();

    const list = await ok<{ entries: { symbol: string; rows: number; hitRate: number | null; lastUpdated: string | null }[] }>(
      'cache.list',
      {},
    );
    expect(list.entries.map((e) => e.symbol)).toEqual(['NVDA', 'TSLA']);
    const nvda = list.entries[0];
    expect(nvda.rows).toBeGreaterThan(240);
    expect(nvda.hitRate).toBe(0.5);
    expect(Date.parse(nvda.lastUpdated ?? '')).toBeGreaterThan(Date.now() - 60_000);

    const monday = mondayWeeksAgo(12);
    const month = await ok<{ count: number; columns: Record<string, Float64Array>; lineage: unknown }>('cache.get', {
      symbol: 'nvda',
      from: monday.slice(0, 10),
      to: Date.parse(monday) + 28 * 86_400_000,
    });
    expect(month.count).toBeGreaterThanOrEqual(18);
    expect(month.columns.close).toBeInstanceOf(Float64Array);
    // Monday, or Tuesday when that Monday was a market holiday.
    expect(month.columns.ts[0] - Date.parse(monday)).toBeLessThanOrEqual(86_400_000);
    expect(month.columns.ts[0]).toBeGreaterThanOrEqual(Date.parse(monday));
    expect(month.lineage).toBeNull();

    expect(await ok('cache.clear', { symbol: 'NVDA' })).toMatchObject({ rows: nvda.rows });
    const after = await ok<{ entries: { symbol: string }[] }>('cache.list', {});
    expect(after.entries.map((e) => e.symbol)).toEqual(['TSLA']);
    expect(await ok<{ rows: number }>('cache.clear', { all: true })).toMatchObject({ rows: list.entries[1].rows });
  });

  it('cache.get with fetch: true fills the range from IBKR and returns the lineage', async () => {
    t = await openTestWorkstation({}, { demo: true });
    const res = await ok<{ count: number; lineage: { hit: boolean; rowsFromIbkr: number; mode: string } }>('cache.get', {
      symbol: 'AMD',
      from: '2025-01-01',
      to: '2025-02-01',
      fetch: true,
    });
    expect(res.count).toBeGreaterThanOrEqual(19);
    expect(res.lineage).toMatchObject({ hit: false, mode: 'cache', rowsFromIbkr: res.count });
    // Without `from`, a fetch covers the last year (as cache.refresh), not everything since 1970.
    const lastYear = await ok<{ columns: { ts: Float64Array } }>('cache.get', { symbol: 'AMD', fetch: true });
    expect(lastYear.columns.ts[0]).toBeGreaterThan(Date.now() - 366 * 86_400_000);
    expect(lastYear.columns.ts.length).toBeLessThan(260);
  });

  it('logs a call that fails on IBKR (5xx), naming the method', async () => {
    t = await openTestWorkstation({ IB_PORT: '1' });
    const res = await t.ws.dispatcher.call('cache.get', { symbol: 'AMD', from: '2025-01-01', to: '2025-02-01', fetch: true });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.error.status).toBeGreaterThanOrEqual(500);
    expect(t.logs.some((l) => l.msg === 'call failed' && l.method === 'cache.get' && l.code === res.error.code)).toBe(true);
  });

  it('refuses bad input and names what is wrong', async () => {
    t = await openTestWorkstation();
    const bad: [string, unknown, RegExp][] = [
      ['cache.get', { symbol: 'BRK B' }, /symbol/],
      ['cache.get', { symbol: 'NVDA', barSize: '7 days' }, /barSize/],
      ['cache.get', { symbol: 'NVDA', from: 'yesterday' }, /from/],
      ['cache.get', { symbol: 'NVDA', sneaky: true }, /sneaky|unrecognized/i],
      ['cache.get', { symbol: 'NVDA', from: '2025-02-01', to: '2025-01-01' }, /before/],
      // Numbers no clock can hold used to reach DuckDB and come back as a 500.
      ['cache.get', { symbol: 'NVDA', to: 1e300 }, /to.*between 1900-01-01 and 9999-12-31/],
      ['cache.get', { symbol: 'NVDA', from: -1e300 }, /from.*between 1900-01-01 and 9999-12-31/],
      ['cache.refresh', { daysBack: 0 }, /daysBack/],
      ['cache.refresh', { symbols: [] }, /symbols/],
      // Refused now, not from inside the background job it would have started.
      [
        'cache.refresh',
        { symbols: ['NVDA'], daysBack: 10_950, barSize: '1 min' },
        /NVDA 1 min bars .* would take \d+ IBKR requests/,
      ],
      [
        'cache.refresh',
        { symbols: ['NVDA', 'TSLA'], daysBack: 400, barSize: '5 secs' },
        /no 5 secs bars older than six months: fetch NVDA, TSLA \(each\) from/,
      ],
      ['cache.clear', {}, /symbol, dataType, barSize, or all/],
      ['cache.clear', { all: false }, /all/],
    ];
    for (const [method, input, message] of bad) {
      const res = await call(method, input);
      expect(res.ok, `${method} ${JSON.stringify(input)}`).toBe(false);
      if (!res.ok) {
        expect(res.error.status).toBe(400);
        expect(res.error.message).toMatch(message);
      }
    }
  });

  it('in DEBUG_MODE a refresh is refused (offline replay) and reads still work', async () => {
    t = await openTestWorkstation({ DEBUG_MODE: 'true' }, { demo: true });
    const res = await call('cache.refresh', {});
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error).toMatchObject({ code: 'DEBUG_MODE', status: 409 });
    const got = await ok<{ count: number; lineage: { mode: string; missingRanges: unknown[] } }>('cache.get', {
      symbol: 'NVDA',
      from: '2025-01-01',
      to: '2025-02-01',
      fetch: true,
    });
    expect(got.count).toBe(0);
    expect(got.lineage.mode).toBe('cache-only');
    expect(got.lineage.missingRanges).toHaveLength(1);
  });
});
