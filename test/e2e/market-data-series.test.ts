/** Series of one symbol that differ by trading hours or exchange, and what Refresh fetches, on the Market Data page. */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

const DAY_MS = 86_400_000;

describe('Market Data page: which series is listed, charted and refreshed', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('regular hours, all hours and a second exchange of NVDA are three rows, and each charts exactly its own bars', async () => {
    app = await startServedApp({ demo: true, env: { CACHE_SYMBOLS: 'NVDA', CACHE_EXCHANGE: 'NASDAQ' }, path: 'market-data' });
    const now = Date.now();
    await app.ws.barCache.getOrFetch('NVDA', now - 30 * DAY_MS, now, '1 hour');
    await app.ws.barCache.getOrFetch('NVDA', now - 30 * DAY_MS, now, '1 hour', { useRTH: false });
    await app.ws.barCache.getOrFetch('NVDA', now - 10 * DAY_MS, now, '1 hour', { exchange: 'ARCA' });
    const { page } = app;
    await page.reload();
    const rows = page.locator('[data-testid="cache-row-NVDA"][data-bar-size="1 hour"]');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(3);

    const rth = page.locator('[data-testid="cache-row-NVDA"][data-use-rth="true"][data-exchange="NASDAQ"]');
    const allHours = page.locator('[data-testid="cache-row-NVDA"][data-use-rth="false"]');
    const arca = page.locator('[data-testid="cache-row-NVDA"][data-exchange="ARCA"]');
    // What tells the rows apart is on them, not only in attributes.
    expect(await allHours.textContent()).toContain('all hours');
    expect(await arca.textContent()).toContain('ARCA');
    expect(await rth.textContent()).not.toMatch(/all hours|ARCA/);
    const counts = {
      rth: Number(await rth.getAttribute('data-rows')),
      allHours: Number(await allHours.getAttribute('data-rows')),
      arca: Number(await arca.getAttribute('data-rows')),
    };
    // All-hours 1-hour bars run 04:00–20:00, regular ones 09:30–16:00; ARCA was fetched for 10 days only.
    expect(counts.allHours).toBeGreaterThan(counts.rth);
    expect(counts.arca).toBeLessThan(counts.rth);

    const chart = page.locator('[data-testid="chart"]');
    for (const [row, bars, tag] of [
      [allHours, counts.allHours, 'all hours'],
      [arca, counts.arca, 'ARCA'],
      [rth, counts.rth, ''],
    ] as const) {
      await row.click();
      await expect.poll(() => row.getAttribute('class')).toBe('selected');
      expect(await page.locator('[data-testid="cache-list"] tr.selected').count()).toBe(1);
      await expect.poll(() => chart.getAttribute('data-bars'), { timeout: 10_000 }).toBe(String(bars));
      if (tag) expect(await page.locator('[data-testid="chart-series"]').textContent()).toContain(tag);
      else expect(await page.locator('[data-testid="chart-series"]').textContent()).not.toMatch(/all hours|ARCA/);
    }
    await app.screenshot('market-data-series');
  });

  it('Refresh fetches the range the picker shows, and says so when a small bar size caps it', async () => {
    app = await startServedApp({ demo: true, env: { CACHE_SYMBOLS: 'NVDA' }, path: 'market-data' });
    const now = Date.now();
    await app.ws.barCache.getOrFetch('NVDA', now - 10 * DAY_MS, now, '1 hour');
    const { page } = app;
    await page.reload();
    await page.click('[data-testid="cache-row-NVDA"][data-bar-size="1 hour"]');
    await page.selectOption('[data-testid="range-picker"]', '3M');
    expect(await page.locator('[data-testid="refresh-scope"]').textContent()).toBe('Refresh fetches the last 3 months');
    await page.click('[data-testid="cache-refresh"]');
    await page.waitForSelector('[data-testid="refresh-progress"][data-done="true"]', { timeout: 30_000 });
    const list = await app.ws.dispatcher.call('cache.list', {});
    if (!list.ok) throw new Error(list.error.message);
    const entry = (list.result as { entries: { symbol: string; barSize: string; firstTs: string | null }[] }).entries.find(
      (e) => e.symbol === 'NVDA' && e.barSize === '1 hour',
    );
    // Three months back, not the five days every intraday refresh used to fetch.
    expect(Date.parse(entry?.firstTs ?? '')).toBeLessThan(now - 80 * DAY_MS);

    // One-minute bars over a year would be hundreds of IBKR requests per symbol: capped, and the page says so.
    await page.selectOption('[data-testid="barsize-picker"]', '1 min');
    await page.selectOption('[data-testid="range-picker"]', '1Y');
    expect(await page.locator('[data-testid="refresh-scope"]').textContent()).toMatch(
      /^Refresh fetches the last 60 days \(capped for 1 min bars\)$/,
    );
    expect(await page.locator('[data-testid="cache-refresh"]').getAttribute('title')).toContain('last 60 days of 1 min bars');
    await app.screenshot('market-data-refresh-scope');
  });
});
