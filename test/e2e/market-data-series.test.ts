/** Series of one symbol that differ by trading hours or exchange, on the Market Data page. */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

const DAY_MS = 86_400_000;

describe('Market Data page: which series is listed and charted', () => {
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
});
