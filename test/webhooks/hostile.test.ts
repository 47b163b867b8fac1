/**
 * What an independent sender may do that our own clients never did: odd topic names, re-serialised
 * JSON, other charsets, out-of-range times, broken UTF-16, empty alerts — each is stored or refused
 * on its own, and never takes the events committed with it down.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { strikeTicks } from '../../renderer/src/components/webhooks/strike-ticks';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { BASE_ENV, call, count, inboxCount, post, SECRET } from './support';

const auth = { authorization: `Bearer ${SECRET}` };

describe('webhooks from senders we do not control', () => {
  let t: TestWorkstation;
  afterEach(async () => {
    await t.dispose();
  });

  it('topics named like Object members are stored as unknown topics, and events arriving with them are all committed', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const odd = [
      JSON.stringify(['__proto__', { id: 'p-1', note: 'x' }]),
      JSON.stringify({ topic: 'constructor', id: 'c-1' }),
      JSON.stringify(['toString:SPY', { id: 't-1' }]),
    ];
    const valid = Array.from({ length: 30 }, (_, i) => JSON.stringify(['news', { id: `n-${i}`, headline: `h${i}` }]));
    // Sent together, so they share group commits with the odd ones.
    const answers = await Promise.all([...valid, ...odd].map((body) => post(t.ws, '/uw', body, { headers: auth })));
    expect(answers.map((a) => a.status)).toEqual(Array(33).fill(202));
    expect(inboxCount(t.ws)).toBe(33);
    await t.ws.webhooks.processor.drain();
    const topics = await t.ws.stores.warehouse.rows<{ topic: string; n: number }>(
      "SELECT topic, count(*)::INTEGER AS n FROM uw_events WHERE topic <> 'news' GROUP BY topic ORDER BY topic",
    );
    expect(topics).toEqual([
      { topic: '__proto__', n: 1 },
      { topic: 'constructor', n: 1 },
      { topic: 'tostring', n: 1 },
    ]);
    expect(await count(t.ws, 'uw_events', "WHERE topic = 'news'")).toBe(30);
  });

  it('one event the store cannot take is refused alone; the others of its group commit are stored', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const inbox = t.ws.webhooks.inbox;
    const item = (i: number) => ({
      source: 'uw',
      route: '/uw',
      topic: 'news',
      symbol: null,
      headers: {},
      contentType: 'application/json',
      body: `{"id":${i}}`,
      receivedAt: Date.now(),
      dedupeKey: `uw:news:id:${i}`,
      contentHash: `h${i}`,
    });
    // A row SQLite cannot bind (a topic that is not text), appended in the same turn as good ones.
    const poisoned = { ...item(99), topic: { not: 'text' } as unknown as string };
    const results = await Promise.allSettled([item(1), item(2), poisoned, item(3)].map((x) => inbox.append(x)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(inboxCount(t.ws)).toBe(3);
    // The listener is still healthy afterwards.
    expect((await post(t.ws, '/uw', JSON.stringify(['news', { id: 'after' }]), { headers: auth })).status).toBe(202);
  });

  it('the same event re-serialised with its keys in another order is a duplicate, not a conflict', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const trade = { id: 'tr-1', option_symbol: 'SPY251219C00600000', price: '1.25', size: 2, executed_at: 1762267198000 };
    const first = await post(t.ws, '/uw', JSON.stringify(['option_trades', trade]), { headers: auth });
    expect(first.status).toBe(202);
    const reordered = Object.fromEntries(Object.entries(trade).reverse());
    const again = await post(t.ws, '/uw', JSON.stringify({ topic: 'option_trades', ...reordered }), { headers: auth });
    expect(again.json).toEqual({ ok: true, id: first.json.id, duplicate: true });
    const changed = await post(t.ws, '/uw', JSON.stringify(['option_trades', { ...reordered, size: 3 }]), { headers: auth });
    expect(changed.status).toBe(409);
    const snap = { ticker: 'SPX', timestamp: 1762267198, spot: 6000, zero_gamma: 5990, strikes: [[6000, 1, 2, []]] };
    expect((await post(t.ws, '/gex', JSON.stringify(snap), { headers: auth })).status).toBe(202);
    const snapReordered = JSON.stringify(Object.fromEntries(Object.entries(snap).reverse()));
    expect((await post(t.ws, '/gex', snapReordered, { headers: auth })).status).toBe(200);
    expect(inboxCount(t.ws)).toBe(2);
  });

  it('decodes a declared charset, refuses one it cannot decode, and keeps an empty text alert', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const latin1 = Buffer.concat([Buffer.from('BUY caf'), Buffer.from([0xe9]), Buffer.from(' NASDAQ:AAPL')]);
    const ok = await post(t.ws, `/tradingview/${SECRET}`, latin1, { contentType: 'text/plain; charset=iso-8859-1' });
    expect(ok.status).toBe(202);
    const stored = await call<{ body: string }>(t.ws, 'webhooks.event', { id: ok.json.id });
    expect(stored.body).toBe('BUY café NASDAQ:AAPL');
    const unknown = await post(t.ws, `/tradingview/${SECRET}`, 'x', { contentType: 'text/plain; charset=klingon-8' });
    expect([unknown.status, unknown.json.error?.code]).toEqual([415, 'unsupported_charset']);
    const empty = await post(t.ws, `/tradingview/${SECRET}`, '', { contentType: 'text/plain' });
    expect(empty.status).toBe(202);
    expect(inboxCount(t.ws)).toBe(2);
  });

  it('TradingView: `symbol`/`side` templates fill the alert row, and a time no clock can hold is left empty, not a dead letter', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const body = JSON.stringify({ symbol: 'BINANCE:BTCUSDT', side: 'SELL', time: 1e308, timenow: '2025-11-04T15:00:00Z' });
    expect((await post(t.ws, `/tradingview/${SECRET}`, body)).status).toBe(202);
    await t.ws.webhooks.processor.drain();
    const rows = await t.ws.stores.warehouse.rows<Record<string, unknown>>(
      'SELECT ticker, exchange, action, bar_time, epoch_ms(fired_at) AS fired_at FROM alerts',
    );
    expect(rows).toEqual([
      { ticker: 'BTCUSDT', exchange: 'BINANCE', action: 'sell', bar_time: null, fired_at: Date.parse('2025-11-04T15:00:00Z') },
    ]);
    expect(inboxCount(t.ws, "WHERE status = 'dead' OR status = 'failed'")).toBe(0);
    // On /uw an option trade with such a time is refused at the door, naming the field and what it takes.
    const trade = { id: 'tr-9', option_symbol: 'SPY251219C00600000', price: 1, size: 1, executed_at: 1e308 };
    const refused = await post(t.ws, '/uw', JSON.stringify(['option_trades', trade]), { headers: auth });
    expect(refused.status).toBe(422);
    expect(refused.json.error?.issues[0]).toMatchObject({ path: [1, 'executed_at'] });
    expect(refused.json.error?.issues[0].hint).toMatch(/ISO time/);
  });

  it('a lone UTF-16 surrogate in a payload does not break JSON queries over the warehouse table', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const body = '["market_tide", {"id": "s-1", "note": "half an emoji \\ud83d", "\\udc00key": 1}]';
    expect((await post(t.ws, '/uw', body, { headers: auth })).status).toBe(202);
    await t.ws.webhooks.processor.drain();
    const rows = await t.ws.stores.warehouse.rows<{ id: string; note: string }>(
      "SELECT payload->>'id' AS id, payload->>'note' AS note FROM uw_events",
    );
    expect(rows).toEqual([{ id: 's-1', note: 'half an emoji \ufffd' }]);
  });

  it('"send test event" for TradingView passes the allowlist, which still refuses everyone else', async () => {
    t = await openTestWorkstation({ ...BASE_ENV, WEBHOOK_ALLOWLIST: '52.89.214.238' });
    const res = await call<{ status: number }>(t.ws, 'webhooks.sendTest', { kind: 'tradingview' });
    expect(res.status).toBe(202);
    const local = await post(t.ws, `/tradingview/${SECRET}`, 'BUY AAPL', {
      contentType: 'text/plain',
      headers: { 'x-marketdesk-test': '1' },
    });
    expect(local.status).toBe(403);
  });

  it('a ticker with a control character is refused at the door, as it would break file names and the Parquet export', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const snap = { ticker: 'QQQ\u0000', timestamp: 1762267198, spot: 600, strikes: [[600, 1, 2, []]] };
    const res = await post(t.ws, '/gex', JSON.stringify(snap), { headers: auth });
    expect([res.status, res.json.error?.issues[0].path]).toEqual([422, ['ticker']]);
    const api = await t.ws.dispatcher.call('exports.parquet', { table: 'gex_snapshots', from: 'garbage' });
    expect(api.ok ? null : [api.error.status, api.error.message]).toEqual([400, expect.stringMatching(/from.*an ISO date/)]);
    const backwards = await t.ws.dispatcher.call('exports.parquet', {
      table: 'gex_snapshots',
      from: '2026-02-01',
      to: '2026-01-01',
    });
    expect(backwards.ok ? null : [backwards.error.status, backwards.error.message]).toEqual([
      400,
      expect.stringContaining('"from" must not be after "to"'),
    ]);
    expect(inboxCount(t.ws)).toBe(0);
  });

  it('error hints say what a field takes', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const trade = { id: 'tr-2', option_symbol: 'SPY251219C00600000', price: 1, size: 1, executed_at: 'yesterday' };
    const bad = await post(t.ws, '/uw', JSON.stringify(['option_trades', trade]), { headers: auth });
    expect(bad.json.error?.issues[0].hint).toMatch(/^send 1\.executed_at as epoch ms\/seconds or an ISO time/);
    const url = await post(t.ws, '/gex_history_url', '{"url":""}', { headers: auth });
    expect(url.json.error?.issues[0].hint).toBe('url needs at least 8 characters');
    const noAuth = await post(t.ws, '/tradingview', '{"ticker":"AAPL"}');
    expect(noAuth.json.error?.message).toMatch(/"key"/);
  });
});

describe('GEX chart ticks', () => {
  it('fall on strikes, spaced by a round multiple of the strike spacing', () => {
    const strikes = Array.from({ length: 16 }, (_, i) => 590 + i);
    expect(strikeTicks(strikes, [589, 606])).toEqual([590, 592, 594, 596, 598, 600, 602, 604, 606]);
    expect(strikeTicks([7002.5, 7007.5, 7012.5], [7000, 7015])).toEqual([7002.5, 7007.5, 7012.5]);
    const wide = Array.from({ length: 200 }, (_, i) => 4000 + 5 * i);
    const ticks = strikeTicks(wide, [3990, 5005]);
    expect(ticks.length).toBeLessThanOrEqual(11);
    expect(ticks.every((x) => (x - 4000) % 5 === 0)).toBe(true);
    // Round numbers when they are on the strike grid.
    expect(strikeTicks([6890, 6895, 7135, 7390], [6880, 7400])).toEqual([6900, 7000, 7100, 7200, 7300, 7400]);
  });
});
