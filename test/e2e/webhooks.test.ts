/**
 * The Webhooks page in Chromium against a real workstation and its real webhook listener:
 * a test event shows up live in the feed with its raw payload, and a gexbot snapshot posted to the
 * listener port is drawn as gamma by strike with spot and zero gamma marked.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeUwStream } from '../webhooks/fake-uw-stream';
import { type ServedApp, startServedApp } from './support';

const SECRET = 'e2e-webhook-secret';
const fixture = (name: string) => readFileSync(`/work/shared/fixtures/webhooks/${name}`, 'utf8');
/** Page errors, minus the shell's CSP notice about frame-ancestors in a <meta> tag (not this page's doing). */
const pageErrors = (app: ServedApp) => app.pageErrors.filter((e) => !e.includes("'frame-ancestors' is ignored"));

async function listenerUrl(app: ServedApp): Promise<string> {
  const res = await app.ws.dispatcher.call('webhooks.status', {});
  if (!res.ok) throw new Error(res.error.message);
  const url = (res.result as { url: string | null }).url;
  if (!url) throw new Error('the webhook listener is not listening');
  return url;
}

describe('Webhooks page', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('a test event appears in the live feed and its raw payload opens pretty-printed', async () => {
    app = await startServedApp({ path: 'webhooks', env: { WEBHOOK_PORT: '0', WEBHOOK_SECRET: SECRET } });
    const { page } = app;
    await page.waitForSelector('[data-testid="page-webhooks"]');
    await page.waitForSelector('[data-testid="listener-state"]');
    expect(await page.locator('[data-testid="listener-state"]').textContent()).toBe('listening');
    // The TradingView URL is ready to paste, secret masked until revealed.
    expect(await page.locator('[data-testid="tradingview-url"]').textContent()).toMatch(/\/tradingview\//);
    expect(await page.locator('[data-testid="tradingview-url"]').textContent()).not.toContain(SECRET);
    expect(await page.locator('[data-testid="tradingview-template"]').textContent()).toContain('{{ticker}}');
    expect(await page.locator('[data-testid="feed-row"]').count()).toBe(0);

    await page.click('[data-testid="send-test-event"]');
    await page.waitForSelector('[data-testid="send-test-result"]');
    expect(await page.locator('[data-testid="send-test-result"]').textContent()).toContain('✓');
    const row = page.locator('[data-testid="feed-row"][data-source="test"], [data-testid="feed-row"][data-source="tradingview"]');
    await expect.poll(() => row.count()).toBe(1);

    await row.first().click();
    await page.waitForSelector('[data-testid="event-payload-body"]');
    const body = (await page.locator('[data-testid="event-payload-body"]').textContent()) ?? '';
    // Pretty-printed JSON (indented, one field per line), with the secret stripped before storage.
    expect(body).toMatch(/^\{\n {2}"/);
    expect(body).not.toContain(SECRET);

    // A second event posted straight to the listener arrives live, without reloading the page.
    const url = await listenerUrl(app);
    const res = await fetch(`${url}/tradingview/${SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: fixture('tradingview-pipe.txt'),
    });
    expect(res.status).toBeLessThan(300);
    await expect.poll(() => page.locator('[data-testid="feed-row"]').count()).toBe(2);
    await page.locator('[data-testid="feed-row"]').first().click();
    await expect.poll(() => page.locator('[data-testid="event-payload-body"]').textContent()).toContain('Breakout v2');
    // Stored as text, never refused; the processor's progress shows without a reload.
    await expect
      .poll(() => page.locator('[data-testid="feed-status"]').allTextContents(), { timeout: 15_000 })
      .toEqual(['done', 'done']);

    // Copy gives TradingView the URL that works, secret included, though the page shows it masked.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.baseUrl });
    await page.click('[data-testid="copy-tradingview-url"]');
    await expect.poll(() => page.locator('[data-testid="copy-tradingview-url"]').textContent()).toBe('Copied ✓');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${url}/tradingview/${SECRET}`);
    expect(await page.locator('[data-testid="tradingview-url"]').textContent()).not.toContain(SECRET);

    // The ready-to-paste TradingView URL carries the real secret once revealed.
    await page.click('[data-testid="tradingview-reveal"]');
    await expect.poll(() => page.locator('[data-testid="tradingview-url"]').textContent()).toBe(`${url}/tradingview/${SECRET}`);

    const shot = await app.screenshot('webhooks-feed');
    expect(shot).toMatch(/\.png$/);
    expect(pageErrors(app)).toEqual([]);
  });

  it('with the Unusual Whales stream on, a refused token shows with a Reconnect; then joined channels and streamed frames arrive in the feed', async () => {
    const uw = await FakeUwStream.start('uw-e2e-token');
    uw.acceptToken = 'not-yet';
    try {
      app = await startServedApp({
        path: 'webhooks',
        env: {
          WEBHOOK_PORT: '0',
          WEBHOOK_SECRET: SECRET,
          UW_API_TOKEN: 'uw-e2e-token',
          UW_CHANNELS: 'flow-alerts,option_trades',
          UW_STREAM_URL: uw.url,
        },
      });
      const { page } = app;
      // The account's token is refused at first: the card says so and nothing is redialled until Reconnect.
      await uw.until(() => uw.refused === 1, 'the refusal');
      await expect.poll(() => page.locator('[data-testid="stream-state"]').textContent()).toBe('refused');
      expect(await page.locator('[data-testid="stream-error"]').textContent()).toContain('check UW_API_TOKEN');
      await app.screenshot('webhooks-stream-refused');
      uw.acceptToken = 'uw-e2e-token';
      await page.click('[data-testid="stream-reconnect"]');
      await uw.until(() => uw.connections[0]?.joins.length === 2, 'joins');
      await expect.poll(() => page.locator('[data-testid="stream-state"]').textContent()).toBe('open');
      await expect
        .poll(() => page.locator('[data-testid="stream-channels"] .chip-on').allTextContents())
        .toEqual(['flow-alerts', 'option_trades']);
      expect(uw.refused).toBe(1);
      await expect.poll(() => page.locator('[data-testid="stream-reconnect"]').count()).toBe(0);

      uw.send(JSON.parse(fixture('uw-flow-alert.json')));
      uw.send(JSON.parse(fixture('uw-option-trade.json')));
      const rows = page.locator('[data-testid="feed-row"][data-source="uw-stream"]');
      await expect.poll(() => rows.count()).toBe(2);
      await page.fill('[data-testid="filter-symbol"]', 'DIA');
      await expect.poll(() => rows.count()).toBe(1);
      await rows.first().click();
      await expect
        .poll(() => page.locator('[data-testid="event-payload-body"]').textContent())
        .toContain('RepeatedHitsDescendingFill');
      await expect.poll(() => page.locator('[data-testid="stream-frames"]').textContent()).toContain('2 stored');
      await app.screenshot('webhooks-stream');
      expect(pageErrors(app)).toEqual([]);
    } finally {
      await app?.close();
      app = undefined;
      await uw.close();
    }
  });

  it('a gexbot snapshot posted to the listener is drawn as gamma by strike with spot and zero gamma', async () => {
    app = await startServedApp({ path: 'webhooks', env: { WEBHOOK_PORT: '0', WEBHOOK_SECRET: SECRET } });
    const { page } = app;
    await page.waitForSelector('[data-testid="gex-empty"]');

    const url = await listenerUrl(app);
    // A bridge that sends milliseconds is refused, naming the field, and the reason shows in the rejected log.
    const snapshot = JSON.parse(fixture('gexbot-classic.json')) as { timestamp: number };
    const refused = await fetch(`${url}/gex`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify({ ...snapshot, timestamp: snapshot.timestamp * 1000 }),
    });
    expect(refused.status).toBe(422);
    await expect.poll(() => page.locator('[data-testid="rejected-row"]').count(), { timeout: 15_000 }).toBe(1);
    await page.locator('[data-testid="rejected-row"]').click();
    expect(await page.locator('[data-testid="rejected-table"]').textContent()).toMatch(/timestamp.*epoch seconds/);
    await page.locator('[data-testid="webhooks-problems"]').scrollIntoViewIfNeeded();
    await app.screenshot('webhooks-rejected');
    expect(await page.locator('[data-testid="gex-empty"]').count()).toBe(1);

    const res = await fetch(`${url}/gex`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: fixture('gexbot-classic.json'),
    });
    expect(res.status).toBeLessThan(300);

    await page.waitForSelector('[data-testid="gex-chart"] .recharts-bar-rectangle', { timeout: 20_000 });
    expect(await page.locator('[data-testid="gex-snapshot-ticker"]').textContent()).toBe('SPX');
    expect(await page.locator('[data-testid="gex-chart"] .recharts-bar-rectangle').count()).toBe(4);
    expect(await page.locator('[data-testid="gex-spot"]').textContent()).toContain('7,138.55');
    expect(await page.locator('[data-testid="gex-zero-gamma"]').textContent()).toContain('7,112.95');
    expect(await page.locator('[data-testid="gex-chart"] .gex-spot-line').count()).toBe(1);
    expect(await page.locator('[data-testid="gex-chart"] .gex-zero-line').count()).toBe(1);
    // The snapshot also shows in the feed, processed.
    await expect.poll(() => page.locator('[data-testid="feed-row"][data-source="gex"]').count()).toBe(1);
    await expect.poll(() => page.locator('[data-testid="feed-status"]').allTextContents(), { timeout: 15_000 }).toEqual(['done']);

    await page.locator('[data-testid="gex-view"]').scrollIntoViewIfNeeded();
    await app.screenshot('webhooks-gex');

    // A ticker with a single strike (one UW gex_strike frame) still gets its bar, drawn from zero.
    const single = await fetch(`${url}/uw`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: fixture('uw-gex-strike.json'),
    });
    expect(single.status).toBeLessThan(300);
    await expect.poll(() => page.locator('[data-testid="gex-ticker"] option[value="SPY"]').count(), { timeout: 15_000 }).toBe(1);
    await page.selectOption('[data-testid="gex-ticker"]', 'SPY');
    await expect.poll(() => page.locator('[data-testid="gex-snapshot-ticker"]').textContent()).toBe('SPY');
    const bar = page.locator('[data-testid="gex-chart"] .recharts-bar-rectangle path');
    await expect.poll(() => bar.count()).toBe(1);
    const box = await bar.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(4);
    expect(box?.height ?? 0).toBeGreaterThan(20);

    // A filter that matches nothing says so, instead of "No events yet".
    await page.selectOption('[data-testid="filter-status"]', 'dead');
    await expect.poll(() => page.locator('[data-testid="feed-empty"]').textContent()).toBe('No events match these filters.');
    expect(pageErrors(app)).toEqual([]);
  });
});
