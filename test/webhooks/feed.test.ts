import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestWorkstation, removeDir, type TestWorkstation, tempDir } from '../support/workstation';
import { BASE_ENV, call, fixture, post, SECRET } from './support';

type Page = { items: { id: number; source: string; topic: string | null; symbol: string | null }[]; nextBefore: number | null };

describe('the live feed as the Webhooks page reads it', () => {
  let t: TestWorkstation;
  beforeEach(async () => {
    t = await openTestWorkstation(BASE_ENV);
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('lists events newest first, filtered by source, topic, symbol and time, page by page', async () => {
    const auth = { authorization: `Bearer ${SECRET}` };
    await post(t.ws, `/tradingview/${SECRET}`, fixture('tradingview-strategy.json'));
    await post(t.ws, '/uw', fixture('uw-flow-alert.json'), { headers: auth });
    await post(t.ws, '/uw', fixture('uw-option-trade.json'), { headers: auth });
    await post(t.ws, '/uw', fixture('uw-gex.json'), { headers: auth });
    await post(t.ws, '/gex', fixture('gexbot-classic.json'), { headers: auth });

    const all = await call<Page>(t.ws, 'webhooks.events', {});
    expect(all.items.map((e) => [e.source, e.topic, e.symbol])).toEqual([
      ['gex', 'snapshot', 'SPX'],
      ['uw', 'gex', 'SPY'],
      ['uw', 'option_trades', 'TSLA'],
      ['uw', 'flow-alerts', 'DIA'],
      ['tradingview', 'alert', 'NVDA'],
    ]);
    expect((await call<Page>(t.ws, 'webhooks.events', { source: 'uw' })).items).toHaveLength(3);
    expect((await call<Page>(t.ws, 'webhooks.events', { topic: 'option_trades' })).items.map((e) => e.symbol)).toEqual(['TSLA']);
    expect((await call<Page>(t.ws, 'webhooks.events', { symbol: 'nvda' })).items.map((e) => e.source)).toEqual(['tradingview']);
    expect((await call<Page>(t.ws, 'webhooks.events', { from: Date.now() + 60_000 })).items).toEqual([]);
    expect((await call<Page>(t.ws, 'webhooks.events', { to: new Date(Date.now() + 60_000).toISOString() })).items).toHaveLength(
      5,
    );
    // A bound that is no time is refused, naming it, rather than ignored.
    const badBound = await t.ws.dispatcher.call('webhooks.events', { from: '../../etc/passwd' });
    expect(badBound.ok ? null : [badBound.error.status, badBound.error.message]).toEqual([
      400,
      expect.stringMatching(/from.*epoch milliseconds/),
    ]);
    const backwards = await t.ws.dispatcher.call('webhooks.events', { from: '2026-02-01', to: '2026-01-01' });
    expect(backwards.ok ? null : [backwards.error.status, backwards.error.message]).toEqual([
      400,
      expect.stringContaining('from: "from" must not be after "to"'),
    ]);

    const seen: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page: Page = await call<Page>(t.ws, 'webhooks.events', { limit: 2, ...(before ? { before } : {}) });
      seen.push(...page.items.map((e) => e.id));
      if (page.nextBefore === null) break;
      before = page.nextBefore;
    }
    expect(seen).toEqual(all.items.map((e) => e.id));

    const bad = await t.ws.dispatcher.call('webhooks.events', { limit: 5000 });
    expect(bad.ok).toBe(false);
    const unknown = await t.ws.dispatcher.call('webhooks.event', { id: 999 });
    expect(unknown).toMatchObject({ ok: false, error: { status: 404 } });
  });

  it('after a restart the listener status still shows when the last event arrived', async () => {
    await t.dispose();
    const dataDir = tempDir();
    try {
      t = await openTestWorkstation(BASE_ENV, { dataDir });
      const res = await post(t.ws, '/uw', fixture('uw-flow-alert.json'), { headers: { authorization: `Bearer ${SECRET}` } });
      const stored = await call<{ receivedAt: string }>(t.ws, 'webhooks.event', { id: res.json.id });
      await t.dispose();
      t = await openTestWorkstation(BASE_ENV, { dataDir });
      const status = await call<{ lastEventAt: string | null; acceptedSinceStart: number }>(t.ws, 'webhooks.status', {});
      expect(status).toMatchObject({ lastEventAt: stored.receivedAt, acceptedSinceStart: 0 });
      await t.dispose();
    } finally {
      removeDir(dataDir);
    }
    t = await openTestWorkstation(BASE_ENV);
  });
});
