/** The Dashboard in serve mode against the demo gateway, in Chromium: every card, its actions, its links. */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

describe('the dashboard a trader lives in', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('shows IBKR, webhooks, scheduler, cache, debug mode and disk; debug mode toggles with a badge across the app', async () => {
    app = await startServedApp({ demo: true, env: { WEBHOOK_PORT: '0' } });
    const { page } = app;
    await page.waitForSelector('[data-testid="page-dashboard"][data-ready="true"]');
    for (const card of ['ibkr', 'webhooks', 'scheduler', 'cache', 'debug', 'disk']) {
      await page.waitForSelector(`[data-testid="card-${card}"]`);
    }
    // The demo gateway is an IB Gateway: connected, with its server version and accounts.
    await expect.poll(() => page.locator('[data-testid="ibkr-accounts"]').textContent(), { timeout: 20_000 }).not.toBe('—');
    expect(Number(await page.locator('[data-testid="ibkr-server-version"]').textContent())).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="first-run"]').count()).toBe(0);
    // The webhook listener runs on its (ephemeral) port.
    expect(await page.locator('[data-testid="webhooks-address"]').textContent()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Disk usage of the data folder: the stores are there.
    expect(await page.locator('[data-testid="disk-used"]').textContent()).toMatch(/\d+(\.\d)? (KB|MB|GB)/);
    expect(await page.locator('[data-testid="card-disk"]').textContent()).toContain('journal.sqlite');

    // Refresh all: the cache card fills from the demo gateway.
    await page.click('[data-testid="cache-refresh-all"]');
    await expect.poll(() => page.locator('[data-testid="cache-rows"]').textContent(), { timeout: 60_000 }).not.toMatch(/^(—|0)$/);
    expect(Number((await page.locator('[data-testid="cache-symbols"]').textContent())?.replace(/,/g, ''))).toBeGreaterThan(0);

    expect(await app.screenshot('dashboard')).toBe('/tmp/marketdesk-dashboard.png');

    // Reconnect drops the connection and connects again.
    await page.click('[data-testid="ibkr-reconnect"]');
    await expect
      .poll(() => page.locator('[data-testid="card-ibkr"] .dash-pill').textContent(), { timeout: 20_000 })
      .toBe('connected');

    // Debug mode: the toggle flips the setting, the badge shows across the app, IBKR goes offline on purpose.
    await page.click('[data-testid="debug-toggle"]');
    await page.waitForSelector('[data-testid="debug-badge"]');
    expect(app.ws.settings.get().DEBUG_MODE).toBe(true);
    await expect.poll(() => page.locator('[data-testid="card-ibkr"]').textContent()).toContain('offline (debug mode)');

    // Pause the scheduler from its card.
    await page.click('[data-testid="scheduler-pause"]');
    await expect.poll(() => page.locator('[data-testid="scheduler-pause"]').textContent()).toBe('Resume');
    await app.screenshot('dashboard-debug');

    // Each card links to its page.
    await page.click('[data-testid="card-webhooks-link"]');
    await page.waitForSelector('[data-testid="page-webhooks"]');
    await page.click('[data-testid="nav-dashboard"]');
    await page.click('[data-testid="card-cache-link"]');
    await page.waitForSelector('[data-testid="page-market-data"]');
    // (How the CSP itself is delivered is checked by desktop-csp.test.ts.)
    expect(app.pageErrors.filter((e) => !/favicon|Content Security Policy directive/.test(e))).toEqual([]);
  });

  it('on first run, with no gateway reachable, explains how to connect and offers the demo gateway', async () => {
    // Nothing listens on port 1: like TWS/IB Gateway not running.
    app = await startServedApp({ env: { IB_PORT: '1', WEBHOOK_PORT: '0' } });
    const { page } = app;
    await page.waitForSelector('[data-testid="first-run"]');
    const guide = await page.locator('[data-testid="first-run"]').textContent();
    for (const needle of ['TWS', 'IB Gateway', '7497', '4002', 'Enable ActiveX and Socket Clients', '127.0.0.1:1']) {
      expect(guide).toContain(needle);
    }
    expect(await page.locator('[data-testid="demo-command"]').textContent()).toContain('--demo');
    await app.screenshot('dashboard-first-run');
    await page.click('[data-testid="first-run-settings"]');
    await page.waitForSelector('[data-testid="page-settings"]');
  });
});
