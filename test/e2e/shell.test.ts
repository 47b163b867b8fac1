import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

describe('the served shell in Chromium', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('shows every page in the navigation and healthy stores in the status bar', async () => {
    app = await startServedApp();
    const { page } = app;
    for (const id of ['dashboard', 'market-data', 'runs', 'artifacts', 'webhooks', 'imports', 'integrity', 'settings']) {
      await expect.poll(() => page.locator(`[data-testid="nav-${id}"]`).count()).toBe(1);
    }
    await page.waitForSelector('[data-testid="store-warehouse"].ok');
    await page.waitForSelector('[data-testid="store-journal"].ok');
    await app.screenshot('shell');
    expect(page.url()).not.toContain('token=');
    expect(app.pageErrors).toEqual([]);
  });

  it('stops showing healthy stores when the workstation goes away', async () => {
    app = await startServedApp();
    const { page } = app;
    await page.waitForSelector('[data-testid="store-warehouse"].ok');
    await app.server.close();
    await page.waitForSelector('[data-testid="status-bar"][data-connection="lost"]', { timeout: 15_000 });
    expect(await page.locator('[data-testid="store-warehouse"]').getAttribute('class')).not.toContain('ok');
    expect(await page.locator('[data-testid="store-journal"]').textContent()).toMatch(/unknown/);
    expect(await page.locator('[data-testid="status-bar"]').textContent()).toMatch(/Lost the connection to the workstation/);
  });

  it('changes a setting, reloads, and sees it persisted', async () => {
    app = await startServedApp();
    const { page } = app;
    await page.click('[data-testid="nav-settings"]');
    const ttl = page.locator('[data-testid="setting-CACHE_TTL_HOURS"]');
    await ttl.fill('-3');
    await expect.poll(() => page.locator('[data-testid="setting-CACHE_TTL_HOURS-error"]').textContent()).toContain('0 or more');
    expect(await page.locator('[data-testid="settings-save"]').isDisabled()).toBe(true);
    // Revert drops the bad edit and its error: a valid change can be saved right after.
    await page.click('[data-testid="settings-revert"]');
    await expect.poll(() => page.locator('[data-testid="setting-CACHE_TTL_HOURS-error"]').count()).toBe(0);

    await ttl.fill('6');
    await page.locator('[data-testid="setting-CACHE_SYMBOLS"]').fill('AAPL,MSFT,NVDA');
    await page.click('[data-testid="settings-save"]');
    await expect.poll(() => page.locator('[data-testid="settings-message"]').textContent()).toContain('Saved');
    await app.screenshot('settings');

    await page.reload();
    await page.click('[data-testid="nav-settings"]');
    await expect.poll(() => page.locator('[data-testid="setting-CACHE_TTL_HOURS"]').inputValue()).toBe('6');
    expect(await page.locator('[data-testid="setting-CACHE_SYMBOLS"]').inputValue()).toBe('AAPL,MSFT,NVDA');
    expect(app.ws.settings.get().CACHE_TTL_HOURS).toBe(6);
  });

  it('refuses API calls without the token, and the page without it cannot load data', async () => {
    app = await startServedApp();
    const noToken = await fetch(`${app.baseUrl}/api/call/system.status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noToken.status).toBe(401);
    expect((await noToken.json()).error.message).toMatch(/token/i);

    const wrong = await fetch(`${app.baseUrl}/api/call/system.status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer nope' },
      body: '{}',
    });
    expect(wrong.status).toBe(401);

    const fresh = await app.browser.newPage();
    await fresh.goto(app.baseUrl);
    await fresh.waitForSelector('[data-testid="status-bar"]');
    await expect.poll(() => fresh.locator('[data-testid="status-bar"]').textContent()).toMatch(/token/i);
  });
});
