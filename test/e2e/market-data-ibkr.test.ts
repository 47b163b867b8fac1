/** The IBKR status as a trader reads it on the Market Data page and the Dashboard: degraded links, old errors, long errors. */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

describe('IBKR status on the Market Data page and the Dashboard', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('a 1100 from the gateway turns "connected" amber on both pages until 1102 restores the link; an old error is not a current one', async () => {
    app = await startServedApp({ demo: true, env: { CACHE_SYMBOLS: 'NVDA', WEBHOOK_PORT: '0' }, path: 'market-data' });
    const { page } = app;
    const sim = app.ws.ibkrSimulator;
    if (!sim) throw new Error('the demo workstation has no simulator');
    const status = page.locator('[data-testid="ibkr-status"]');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 10_000 }).toBe('connected');

    // An earlier outage: the connection drops and comes back, leaving its error behind.
    sim.dropConnections();
    await expect.poll(() => app?.ws.ibkr.status().lastError?.message ?? '', { timeout: 10_000 }).toMatch(/was lost/);
    await expect.poll(() => app?.ws.ibkr.status().state, { timeout: 20_000 }).toBe('connected');
    await expect.poll(() => status.getAttribute('data-state'), { timeout: 10_000 }).toBe('connected');
    expect(await status.getAttribute('data-link')).toBe('ok');

    // IBKR's 1100: the gateway is up, its link to IBKR's servers is not.
    sim.sendConnectivityNotice(1100);
    await expect.poll(() => status.getAttribute('data-link'), { timeout: 10_000 }).toBe('lost');
    expect(await status.textContent()).toMatch(/IBKR connected — gateway lost its link to IBKR servers \(1100\)/);
    expect(await status.locator('.warn').count()).toBeGreaterThan(0);
    expect(await status.locator('.ok').count()).toBe(0);
    await app.screenshot('market-data-1100');

    await page.click('[data-testid="nav-dashboard"]');
    await page.waitForSelector('[data-testid="page-dashboard"][data-ready="true"]');
    const pill = page.locator('[data-testid="card-ibkr"] .dash-pill');
    await expect.poll(() => pill.getAttribute('class'), { timeout: 10_000 }).toMatch(/\bwarn\b/);
    expect(await pill.textContent()).toMatch(/1100/);
    expect(await page.locator('[data-testid="ibkr-notice"]').textContent()).toMatch(/lost its link to IBKR servers/);
    // The drop before this connection is history: shown muted, with its time, not as a red current problem.
    const lastError = page.locator('[data-testid="ibkr-last-error"]');
    expect(await lastError.textContent()).toMatch(/^last error .+: Connection to IB Gateway .* was lost/);
    expect(await lastError.getAttribute('class')).toMatch(/\bmuted\b/);
    expect(await page.locator('[data-testid="card-ibkr"] .bad').count()).toBe(0);
    await app.screenshot('dashboard-1100');

    // 1102: restored. Both pages say plain "connected" again.
    sim.sendConnectivityNotice(1102);
    await expect.poll(() => pill.getAttribute('class'), { timeout: 10_000 }).toMatch(/\bok\b/);
    expect(await pill.textContent()).toBe('connected');
    expect(await page.locator('[data-testid="ibkr-notice"]').count()).toBe(0);
    await page.click('[data-testid="nav-market-data"]');
    await expect.poll(() => status.getAttribute('data-link'), { timeout: 10_000 }).toBe('ok');
    expect(await status.textContent()).toMatch(/IBKR connected$/);
  });

  it('a long IBKR error wraps under the header: the page stays beside the sidebar and Clear… stays on screen', async () => {
    // Nothing listens on port 1: the status carries IBKR's long "Cannot reach IB Gateway…" error.
    app = await startServedApp({ env: { IB_PORT: '1', WEBHOOK_PORT: '0', CACHE_SYMBOLS: 'NVDA' }, path: 'market-data' });
    const { page } = app;
    await page.setViewportSize({ width: 1100, height: 800 });
    await expect
      .poll(() => page.locator('[data-testid="ibkr-error"]').textContent(), { timeout: 10_000 })
      .toMatch(/Cannot reach IB Gateway.*ECONNREFUSED.*API enabled on that port/);
    expect(await page.locator('[data-testid="ibkr-status"]').getAttribute('title')).toContain('ECONNREFUSED');

    const viewport = { width: 1100, height: 800 };
    const sidebar = await page.locator('nav.sidebar').boundingBox();
    const header = await page.locator('[data-testid="page-market-data"] .page-header').boundingBox();
    const clearButton = await page.locator('[data-testid="cache-clear"]').boundingBox();
    if (!sidebar || !header || !clearButton) throw new Error('layout boxes missing');
    expect(header.x).toBeGreaterThanOrEqual(sidebar.x + sidebar.width);
    expect(clearButton.x).toBeGreaterThanOrEqual(sidebar.x + sidebar.width);
    expect(clearButton.x + clearButton.width).toBeLessThanOrEqual(viewport.width);
    const overflow = await page.evaluate(() => {
      const main = document.querySelector('main.content') as HTMLElement;
      return { main: main.scrollWidth - main.clientWidth, doc: document.documentElement.scrollWidth - window.innerWidth };
    });
    expect(overflow).toEqual({ main: 0, doc: 0 });
    await app.screenshot('market-data-long-error');
  });
});
