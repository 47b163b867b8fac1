/** The Market Data page in `serve --demo`: one click on Refresh, live progress to the end, then the chart. */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

describe('Market Data page (demo gateway)', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('refreshes the cache with live progress, draws the candles, and clears with confirmation', async () => {
    app = await startServedApp({ demo: true, env: { CACHE_SYMBOLS: 'NVDA,TSLA,AAPL' }, path: 'market-data' });
    const { page } = app;
    await page.waitForSelector('[data-testid="page-market-data"]');
    await expect
      .poll(() => page.locator('[data-testid="ibkr-status"]').getAttribute('data-state'), { timeout: 10_000 })
      .toBe('connected');
    await expect.poll(() => page.locator('[data-testid="cache-row-NVDA"]').getAttribute('data-rows')).toBe('0');

    // Record every state the progress panel shows, to see it move from running to done.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      new MutationObserver(() => {
        const panel = document.querySelector('[data-testid="refresh-progress"]');
        const text = panel?.querySelector('[data-testid="refresh-overall"]')?.textContent ?? '';
        const entry = `${panel?.getAttribute('data-done')}:${text}`;
        if (panel && seen.at(-1) !== entry) seen.push(entry);
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.click('[data-testid="cache-refresh"]');
    await page.waitForSelector('[data-testid="refresh-progress"]');
    await page.waitForSelector('[data-testid="refresh-progress"][data-done="true"]', { timeout: 30_000 });
    for (const s of ['NVDA', 'TSLA', 'AAPL']) {
      expect(await page.locator(`[data-testid="refresh-symbol-${s}"]`).getAttribute('data-status')).toBe('done');
    }
    expect(await page.locator('[data-testid="refresh-overall"]').textContent()).toContain('3/3 symbols');
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
    expect(seen[0]).toMatch(/^false:/);
    expect(seen.at(-1)).toBe('true:3/3 symbols');
    expect(await page.locator('[data-testid="refresh-summary"]').textContent()).toMatch(
      /Fetched 3 · already cached 0 · failed 0/,
    );

    // The list now shows a year of bars per symbol; the chart draws the selected one.
    await expect
      .poll(async () => Number(await page.locator('[data-testid="cache-row-NVDA"]').getAttribute('data-rows')))
      .toBeGreaterThan(240);
    await page.click('[data-testid="cache-row-TSLA"]');
    await expect.poll(() => page.locator('[data-testid="chart-title"]').textContent()).toBe('TSLA');
    await page.waitForSelector('[data-testid="chart"][data-chart-ready="true"]', { timeout: 10_000 });
    expect(Number(await page.locator('[data-testid="chart"]').getAttribute('data-bars'))).toBeGreaterThan(240);
    expect(await page.locator('[data-testid="chart"] canvas').count()).toBeGreaterThan(0);
    const shot = await app.screenshot('market-data');
    expect(shot).toBe('/tmp/marketdesk-market-data.png');

    // A shorter range redraws with fewer bars.
    await page.selectOption('[data-testid="range-picker"]', '1M');
    await expect.poll(async () => Number(await page.locator('[data-testid="chart"]').getAttribute('data-bars'))).toBeLessThan(25);

    // Clear asks first; cancelling keeps everything, confirming deletes TSLA's bars.
    await page.click('[data-testid="cache-clear"]');
    await page.click('[data-testid="clear-confirm-no"]');
    expect(Number(await page.locator('[data-testid="cache-row-TSLA"]').getAttribute('data-rows'))).toBeGreaterThan(240);
    await page.click('[data-testid="cache-clear"]');
    expect(await page.locator('[data-testid="clear-confirm"]').textContent()).toContain('TSLA');
    await page.click('[data-testid="clear-confirm-yes"]');
    await expect.poll(() => page.locator('[data-testid="cache-message"]').textContent()).toMatch(/Deleted \d+ bars/);
    await expect.poll(() => page.locator('[data-testid="cache-row-TSLA"]').getAttribute('data-rows')).toBe('0');
    // The chart showed TSLA: its deleted bars are gone from it too.
    await expect.poll(() => page.locator('[data-testid="chart"]').getAttribute('data-bars')).toBe('0');
    expect(await page.locator('[data-testid="chart-info"]').textContent()).toMatch(/No cached 1 day bars of TSLA/);
    // (The shell's meta CSP notice about frame-ancestors is the browser's, not this page's.)
    expect(app.pageErrors.filter((e) => !/frame-ancestors/.test(e))).toEqual([]);
  });

  it('fetches a symbol typed by the user, outside CACHE_SYMBOLS, and names what is wrong with a bad one', async () => {
    app = await startServedApp({ demo: true, env: { CACHE_SYMBOLS: 'NVDA' }, path: 'market-data' });
    const { page } = app;
    await expect
      .poll(() => page.locator('[data-testid="ibkr-status"]').getAttribute('data-state'), { timeout: 10_000 })
      .toBe('connected');
    const listed = () => page.locator('[data-testid="cache-list"] tbody tr').count();
    expect(await listed()).toBe(1);

    // A malformed ticker is refused with the reason; the list and the cache are unchanged, the text stays to be fixed.
    await page.fill('[data-testid="symbol-input"]', 'BAD SYMBOL!');
    await page.click('[data-testid="symbol-fetch"]');
    await expect.poll(() => page.locator('[data-testid="refresh-error"]').textContent()).toMatch(/ticker symbol/);
    expect(await page.locator('[data-testid="refresh-progress"]').count()).toBe(0);
    expect(await listed()).toBe(1);
    expect(await page.inputValue('[data-testid="symbol-input"]')).toBe('BAD SYMBOL!');

    // Typed in lower case, fetched alone (not CACHE_SYMBOLS), then listed and charted.
    await page.fill('[data-testid="symbol-input"]', ' amd ');
    await page.click('[data-testid="symbol-fetch"]');
    await page.waitForSelector('[data-testid="refresh-progress"][data-done="true"]', { timeout: 30_000 });
    expect(await page.locator('[data-testid="refresh-error"]').count()).toBe(0);
    expect(await page.locator('[data-testid="refresh-symbol-AMD"]').getAttribute('data-status')).toBe('done');
    expect(await page.locator('[data-testid="refresh-symbol-NVDA"]').count()).toBe(0);
    expect(await page.inputValue('[data-testid="symbol-input"]')).toBe('');
    await expect
      .poll(async () => Number(await page.locator('[data-testid="cache-row-AMD"]').getAttribute('data-rows')))
      .toBeGreaterThan(240);
    expect(await page.locator('[data-testid="cache-row-NVDA"]').getAttribute('data-rows')).toBe('0');
    await expect.poll(() => page.locator('[data-testid="chart-title"]').textContent()).toBe('AMD');
    await page.waitForSelector('[data-testid="chart"][data-chart-ready="true"]', { timeout: 10_000 });
    expect(Number(await page.locator('[data-testid="chart"]').getAttribute('data-bars'))).toBeGreaterThan(240);
    const cached = await app.ws.barCache.list();
    expect(cached.map((e) => e.symbol)).toEqual(['AMD']);
    // The browser logs the refused request (400) itself; nothing else went wrong on the page.
    expect(app.pageErrors.filter((e) => !/frame-ancestors|status of 400/.test(e))).toEqual([]);
  });

  it('in DEBUG MODE shows the badge and replays the cached bars with IBKR offline', async () => {
    app = await startServedApp({ demo: true, env: { CACHE_SYMBOLS: 'NVDA' }, path: 'market-data' });
    const now = Date.now();
    await app.ws.barCache.getOrFetch('NVDA', now - 365 * 86_400_000, now, '1 day');
    app.ws.settings.update({ DEBUG_MODE: true });
    const { page } = app;
    await page.reload();
    await page.waitForSelector('[data-testid="md-debug-badge"]');
    expect(await page.locator('[data-testid="md-debug-badge"]').textContent()).toContain('DEBUG MODE');
    expect(await page.locator('[data-testid="cache-refresh"]').isDisabled()).toBe(true);
    await expect.poll(() => page.locator('[data-testid="ibkr-status"]').getAttribute('data-state')).toBe('offline');
    await page.waitForSelector('[data-testid="chart"][data-chart-ready="true"]');
    expect(Number(await page.locator('[data-testid="chart"]').getAttribute('data-bars'))).toBeGreaterThan(240);
    expect(await app.screenshot('market-data-debug')).toContain('market-data-debug');
  });
});
