import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { BASE_ENV, call, count, fixture, fixtureJson, inboxCount, post, SECRET, signedHeaders } from './support';

describe('webhook routes: what each provider sends ends up stored and in its table', () => {
  let t: TestWorkstation;
  beforeEach(async () => {
    t = await openTestWorkstation(BASE_ENV);
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('a TradingView strategy alert with the secret in the URL is acknowledged fast, stored without the secret and becomes an alert row', async () => {
    const body = fixture('tradingview-strategy.json');
    const started = performance.now();
    const res = await post(t.ws, `/tradingview/${SECRET}`, body);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ ok: true, duplicate: false });
    const detail = await call<{ body: string; json: Record<string, unknown>; symbol: string; topic: string }>(
      t.ws,
      'webhooks.event',
      {
        id: res.json.id,
      },
    );
    expect(detail.symbol).toBe('NVDA');
    expect(detail.topic).toBe('alert');
    expect(detail.json.secret).toBeUndefined();
    expect(detail.body).not.toContain('REPLACE_WITH_WEBHOOK_SECRET');
    await t.ws.webhooks.processor.drain();
    const rows = await t.ws.stores.warehouse.rows<Record<string, unknown>>(
      'SELECT ticker, exchange, action, price, contracts, format, epoch_ms(bar_time) AS bar_time FROM alerts',
    );
    expect(rows).toEqual([
      {
        ticker: 'NVDA',
        exchange: 'NASDAQ',
        action: 'buy',
        price: 181.42,
        contracts: 25,
        format: 'json',
        bar_time: Date.parse('2025-11-04T14:35:00Z'),
      },
    ]);
  });

  it('TradingView may put the secret in a JSON "passphrase" field instead; it is stripped before storage', async () => {
    const body = JSON.stringify({ passphrase: SECRET, ticker: 'TSLA', action: 'sell', close: '452.31', custom_field: 7 });
    const res = await post(t.ws, '/tradingview', body);
    expect(res.status).toBe(202);
    const detail = await call<{ body: string; json: Record<string, unknown> }>(t.ws, 'webhooks.event', { id: res.json.id });
    expect(detail.body).not.toContain(SECRET);
    expect(detail.json).toEqual({ ticker: 'TSLA', action: 'sell', close: '452.31', custom_field: 7 });
    await t.ws.webhooks.processor.drain();
    const rows = await t.ws.stores.warehouse.rows<{ price: number; fields: string }>('SELECT price, fields FROM alerts');
    expect(rows[0].price).toBe(452.31);
    expect(JSON.parse(rows[0].fields).custom_field).toBe(7);
  });

  it('text/plain TradingView messages (free text, a|b|c, a,b,c, a broken JSON template) are stored as text, never rejected', async () => {
    const bodies = [
      fixture('tradingview-plain.txt'),
      fixture('tradingview-pipe.txt'),
      fixture('tradingview-csv.txt'),
      '{"ticker": "NVDA", "price": }',
    ];
    for (const body of bodies) {
      const res = await post(t.ws, `/tradingview/${SECRET}`, body, { contentType: 'text/plain; charset=utf-8' });
      expect(res.status).toBe(202);
    }
    await t.ws.webhooks.processor.drain();
    const rows = await t.ws.stores.warehouse.rows<{
      message: string;
      format: string;
      ticker: string | null;
      exchange: string | null;
      action: string | null;
      price: number | null;
    }>('SELECT message, format, ticker, exchange, action, price FROM alerts ORDER BY event_id');
    expect(rows.map((r) => r.message)).toEqual(bodies);
    expect(rows.every((r) => r.format === 'text')).toBe(true);
    // Best-effort fields: NASDAQ:TSLA + price = …; key|name|action|TICKER; id,action,TICKER,k=v; a broken template.
    expect(rows.map(({ ticker, exchange, action, price }) => ({ ticker, exchange, action, price }))).toEqual([
      { ticker: 'TSLA', exchange: 'NASDAQ', action: null, price: 452.31 },
      { ticker: 'TSLA', exchange: null, action: 'sell', price: null },
      { ticker: 'NVDA', exchange: null, action: 'buy', price: null },
      { ticker: 'NVDA', exchange: null, action: null, price: null },
    ]);
    const feed = await call<{ items: { symbol: string | null }[] }>(t.ws, 'webhooks.events', { source: 'tradingview' });
    expect(feed.items.map((e) => e.symbol).reverse()).toEqual(['TSLA', 'TSLA', 'NVDA', 'NVDA']);
  });

  it('TradingView may put the secret in the URL query; a secret in the URL is never stored, and order sentences get their fields', async () => {
    const path = await post(t.ws, `/tradingview/${SECRET}`, 'BUY AAPL @ 187.5', { contentType: 'text/plain' });
    expect(path.status).toBe(202);
    const query = await post(t.ws, `/tradingview?strategy=breakout&secret=${SECRET}`, 'SELL TSLA', { contentType: 'text/plain' });
    expect(query.status).toBe(202);
    const wrong = await post(t.ws, '/tradingview?token=not-the-secret', 'SELL TSLA', { contentType: 'text/plain' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toMatchObject({ code: 'bad_token' });

    const events = await call<{ items: { id: number; route: string }[] }>(t.ws, 'webhooks.events', {});
    expect(events.items.find((e) => e.id === path.json.id)?.route).toBe('/tradingview/********');
    expect(events.items.find((e) => e.id === query.json.id)?.route).toBe('/tradingview?strategy=breakout');
    const stored = t.ws.stores.journal.db.prepare('SELECT route, headers, body FROM webhook_inbox').all() as Record<
      string,
      string
    >[];
    expect(stored.length).toBe(2);
    expect(stored.some((r) => Object.values(r).some((v) => v.includes(SECRET)))).toBe(false);

    await t.ws.webhooks.processor.drain();
    const alerts = await t.ws.stores.warehouse.rows<{ ticker: string | null; action: string | null; price: number | null }>(
      'SELECT ticker, action, price FROM alerts ORDER BY event_id',
    );
    expect(alerts).toEqual([
      { ticker: 'AAPL', action: 'buy', price: 187.5 },
      { ticker: 'TSLA', action: 'sell', price: null },
    ]);
  });

  it('never echoes or logs the secret from a mistyped URL, and takes a pasted trailing slash', async () => {
    const cased = await post(t.ws, `/TradingView/${SECRET}`, 'BUY AAPL', { contentType: 'text/plain' });
    expect(cased.status).toBe(404);
    const slash = await post(t.ws, `/tradingview/${SECRET}/`, 'BUY AAPL', { contentType: 'text/plain' });
    expect(slash.status).toBe(202);
    const wrongRoute = await post(t.ws, `/tradingview/${SECRET}/extra`, 'x', { contentType: 'text/plain' });
    expect(wrongRoute.status).toBe(404);
    const rejected = await call<{ items: unknown[] }>(t.ws, 'webhooks.rejected', {});
    expect(rejected.items).toHaveLength(2);
    expect(JSON.stringify([cased.json, wrongRoute.json, rejected.items])).not.toContain(SECRET);
  });

  it('refuses JSON nested too deeply for /uw (400, logged), keeps such a TradingView alert as text, and can show it', async () => {
    const deep = (n: number) => `{"ticker":"DEEP","x":${'['.repeat(n)}${']'.repeat(n)}}`;
    const uw = await post(t.ws, '/uw', `{"topic":"news","id":"deep-1","x":${'['.repeat(5000)}${']'.repeat(5000)}}`, {
      headers: { authorization: `Bearer ${SECRET}` },
    });
    expect(uw.status).toBe(400);
    expect(uw.json.error).toMatchObject({ code: 'json_too_deep' });
    const tv = await post(t.ws, `/tradingview/${SECRET}`, deep(5000));
    expect(tv.status).toBe(202);
    const detail = await call<{ body: string; json: unknown }>(t.ws, 'webhooks.event', { id: tv.json.id });
    expect(detail.json).toBeNull();
    expect(detail.body).toBe(deep(5000));
    await t.ws.webhooks.processor.drain();
    const rows = await t.ws.stores.warehouse.rows<{ format: string }>('SELECT format FROM alerts');
    expect(rows).toEqual([{ format: 'text' }]);
    const rejected = await call<{ items: { code: string }[] }>(t.ws, 'webhooks.rejected', {});
    expect(rejected.items.map((r) => r.code)).toEqual(['json_too_deep']);
    // A shallow payload is as before.
    expect((await post(t.ws, `/tradingview/${SECRET}`, deep(10))).status).toBe(202);
  });

  it('keeps a TradingView JSON body as sent — only a field holding the secret goes — and normalises its ticker and action', async () => {
    const raw = '{"ticker":"NASDAQ:AAPL","action":"BUY","key":"breakout-level","order_id":12345678901234567890}';
    const res = await post(t.ws, `/tradingview/${SECRET}`, raw);
    expect(res.status).toBe(202);
    const detail = await call<{ body: string; symbol: string }>(t.ws, 'webhooks.event', { id: res.json.id });
    expect(detail.body).toBe(raw);
    expect(detail.symbol).toBe('AAPL');
    const hidden = await post(t.ws, '/tradingview', JSON.stringify({ Secret: SECRET, ticker: 'MSFT', note: `a ${SECRET} b` }));
    expect(hidden.status).toBe(401);
    const withSecret = await post(
      t.ws,
      `/tradingview/${SECRET}`,
      JSON.stringify({ token: SECRET, ticker: 'MSFT', note: `a ${SECRET} b` }),
    );
    const text = await post(t.ws, `/tradingview/${SECRET}`, `passphrase=${SECRET} BUY AAPL`, { contentType: 'text/plain' });
    for (const r of [withSecret, text]) {
      expect(r.status).toBe(202);
      const d = await call<{ body: string }>(t.ws, 'webhooks.event', { id: r.json.id });
      expect(d.body).not.toContain(SECRET);
    }
    await t.ws.webhooks.processor.drain();
    const rows = await t.ws.stores.warehouse.rows<Record<string, unknown>>(
      'SELECT ticker, exchange, action, order_id, fields FROM alerts ORDER BY event_id',
    );
    expect(rows[0]).toMatchObject({ ticker: 'AAPL', exchange: 'NASDAQ', action: 'buy', order_id: '12345678901234567890' });
    expect(rows[0].fields).toContain('"key":"breakout-level"');
    expect(rows[0].fields).toContain('12345678901234567890');
    expect(JSON.stringify(rows)).not.toContain(SECRET);
  });

  it('takes a bearer token alongside a forwarded webhook-id, and a re-sent GEX snapshot with other whitespace is a duplicate', async () => {
    const res = await post(t.ws, '/uw', JSON.stringify({ topic: 'news', id: 'n-1', headline: 'x' }), {
      headers: { authorization: `Bearer ${SECRET}`, 'webhook-id': 'msg_forwarded' },
    });
    expect(res.status).toBe(202);
    const bearer = { authorization: `Bearer ${SECRET}` };
    const snapshot = fixtureJson<Record<string, unknown>>('gexbot-classic.json');
    expect((await post(t.ws, '/gex', JSON.stringify(snapshot, null, 2), { headers: bearer })).status).toBe(202);
    const again = await post(t.ws, '/gex', JSON.stringify(snapshot), { headers: bearer });
    expect([again.status, again.json.duplicate]).toEqual([200, true]);
    const changed = await post(t.ws, '/gex', JSON.stringify({ ...snapshot, spot: 1 }), { headers: bearer });
    expect(changed.status).toBe(409);
    expect(changed.json.error?.issues[0].message).toMatch(/^an event with the key gex:/);
  });

  it('stores gexbot priors sent as numeric strings as numbers', async () => {
    const snapshot = fixtureJson<{ strikes: unknown[][] } & Record<string, unknown>>('gexbot-classic.json');
    const strikes = snapshot.strikes.map((row) => row.map((v) => (Array.isArray(v) ? v.map(String) : v)));
    const res = await post(t.ws, '/gex', JSON.stringify({ ...snapshot, strikes }), {
      headers: { authorization: `Bearer ${SECRET}` },
    });
    expect(res.status).toBe(202);
    await t.ws.webhooks.processor.drain();
    const rows = await t.ws.stores.warehouse.rows<{ priors: string }>('SELECT priors FROM gex_strikes WHERE priors IS NOT NULL');
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) for (const p of JSON.parse(r.priors) as unknown[]) expect(typeof p).toBe('number');
  });

  it('/uw takes Unusual Whales frames: flow alert, option trade, market GEX and per-strike GEX', async () => {
    for (const name of ['uw-flow-alert.json', 'uw-option-trade.json', 'uw-gex.json', 'uw-gex-strike.json']) {
      const res = await post(t.ws, '/uw', fixture(name), { headers: { authorization: `Bearer ${SECRET}` } });
      expect(res.status, name).toBe(202);
    }
    await t.ws.webhooks.processor.drain();
    const flow = await t.ws.stores.warehouse.rows<Record<string, unknown>>(
      'SELECT id, ticker, bid, ask, epoch_ms(executed_at) AS executed_at, has_sweep FROM flow_alerts',
    );
    expect(flow).toEqual([
      {
        id: '29ed5829-e4ce-4934-876b-51985d2f9b70',
        ticker: 'DIA',
        bid: 7.15,
        ask: 7.3,
        executed_at: 1726670212748,
        has_sweep: false,
      },
    ]);
    const trades = await t.ws.stores.warehouse.rows<Record<string, unknown>>(
      'SELECT ticker, option_symbol, strike, expiry, option_type, price, premium, side, epoch_ms(executed_at) AS executed_at FROM option_trades',
    );
    expect(trades).toEqual([
      {
        ticker: 'TSLA',
        option_symbol: 'TSLA251121C00460000',
        strike: 460,
        expiry: '2025-11-21',
        option_type: 'call',
        price: 6.85,
        premium: 27400,
        side: 'ask',
        executed_at: 1762267198123,
      },
    ]);
    const snap = await t.ws.stores.warehouse.rows<{ spot: number; category: string; extra: string }>(
      "SELECT spot, category, extra FROM gex_snapshots WHERE ticker = 'SPY'",
    );
    expect(snap[0].spot).toBe(562.86);
    expect(snap[0].category).toBe('uw');
    expect(JSON.parse(snap[0].extra).delta_per_one_percent_move_oi).toBe(null);
    const strikes = await t.ws.stores.warehouse.rows<{ strike: number; gex_oi: number }>(
      "SELECT strike, gex_oi FROM gex_strikes WHERE ticker = 'SPY'",
    );
    expect(strikes[0].strike).toBe(290);
    expect(strikes[0].gex_oi).toBeCloseTo(174792.59 - 1172037.66, 2);
  });

  it('/uw also takes a bare payload with a topic, normalises option-symbol aliases and ISO times, and keeps unknown topics generically', async () => {
    const bare = {
      topic: 'option_trades',
      id: 'trade-2',
      option_chain_id: 'NVDA251219P00150000',
      executed_at: '2025-11-04T15:00:00.250Z',
      price: '2.10',
      size: '3',
      nbbo_bid: '2.00',
      nbbo_ask: '2.20',
    };
    const auth = { authorization: `Bearer ${SECRET}` };
    const stored = await post(t.ws, '/uw', JSON.stringify(bare), { headers: auth });
    expect(stored.status).toBe(202);
    // The feed's symbol of a trade that names only its contract is the contract's underlying.
    expect(await call(t.ws, 'webhooks.event', { id: stored.json.id })).toMatchObject({ topic: 'option_trades', symbol: 'NVDA' });
    // A flow alert without a ticker field takes it from its channel or its contract; with neither it is refused.
    const alert = { id: 'fa-1', rule_name: 'RepeatedHits', total_premium: '125000', executed_at: 1762267198000 };
    const byChannel = await post(t.ws, '/uw', JSON.stringify(['flow-alerts:QQQ', alert]), { headers: auth });
    expect(byChannel.status).toBe(202);
    const byContract = { ...alert, id: 'fa-2', option_chain: 'IWM251219C00250000' };
    expect((await post(t.ws, '/uw', JSON.stringify(['flow-alerts', byContract]), { headers: auth })).status).toBe(202);
    const orphan = await post(t.ws, '/uw', JSON.stringify(['flow-alerts', { ...alert, id: 'fa-3' }]), { headers: auth });
    expect([orphan.status, orphan.json.error?.issues[0].path]).toEqual([422, [1, 'ticker']]);
    const news = { type: 'news', headline: 'Fed holds rates', id: 'n-1', created_at: 1762267198000 };
    expect((await post(t.ws, '/uw', JSON.stringify(news), { headers: auth })).status).toBe(202);
    const odd = ['market_tide', { ticker: 'SPY', net_call_premium: '123.4', timestamp: 1762267198000 }];
    expect((await post(t.ws, '/uw', JSON.stringify(odd), { headers: auth })).status).toBe(202);
    await t.ws.webhooks.processor.drain();
    const trade = await t.ws.stores.warehouse.rows<Record<string, unknown>>(
      'SELECT ticker, strike, option_type, expiry, size, side, epoch_ms(executed_at) AS executed_at FROM option_trades',
    );
    expect(trade).toEqual([
      {
        ticker: 'NVDA',
        strike: 150,
        option_type: 'put',
        expiry: '2025-12-19',
        size: 3,
        side: 'mid',
        executed_at: Date.parse('2025-11-04T15:00:00.250Z'),
      },
    ]);
    const alerts = await t.ws.stores.warehouse.rows<{ id: string; ticker: string }>(
      'SELECT id, ticker FROM flow_alerts ORDER BY id',
    );
    expect(alerts).toEqual([
      { id: 'fa-1', ticker: 'QQQ' },
      { id: 'fa-2', ticker: 'IWM' },
    ]);
    const events = await t.ws.stores.warehouse.rows<{ topic: string; ticker: string | null }>(
      'SELECT topic, ticker FROM uw_events ORDER BY topic',
    );
    expect(events).toEqual([
      { topic: 'market_tide', ticker: 'SPY' },
      { topic: 'news', ticker: null },
    ]);
  });

  it("/uw keeps a price frame's own time (UW's price channel sends `time`, bridges `timestamp`) and refuses a time that is none", async () => {
    const auth = { authorization: `Bearer ${SECRET}` };
    const frames = [
      ['price:TSLA', { close: '452.31', time: 1762267198123, vol: 1200 }],
      ['price:AAPL', { close: '270.10', time: '2025-11-04T14:40:00Z' }],
      { topic: 'price', ticker: 'MSFT', price: 510.5, timestamp: 1762267200 },
    ];
    for (const f of frames) expect((await post(t.ws, '/uw', JSON.stringify(f), { headers: auth })).status).toBe(202);
    const bad = await post(t.ws, '/uw', JSON.stringify(['price:NVDA', { close: '1', time: 'yesterday' }]), { headers: auth });
    expect([bad.status, bad.json.error?.issues[0].path]).toEqual([422, [1, 'time']]);
    await t.ws.webhooks.processor.drain();
    const rows = await t.ws.stores.warehouse.rows<{ ticker: string; ts: number; close: string | null }>(
      "SELECT ticker, epoch_ms(ts) AS ts, payload->>'close' AS close FROM uw_events WHERE topic = 'price' ORDER BY ticker",
    );
    expect(rows).toEqual([
      { ticker: 'AAPL', ts: Date.parse('2025-11-04T14:40:00Z'), close: '270.10' },
      { ticker: 'MSFT', ts: 1762267200_000, close: null },
      { ticker: 'TSLA', ts: 1762267198123, close: '452.31' },
    ]);
  });

  it('/gex stores a gexbot classic snapshot as one snapshot row plus its strike rows, readable as the latest GEX of the ticker', async () => {
    const body = fixture('gexbot-classic.json');
    const res = await post(t.ws, '/gex', body, { headers: signedHeaders(SECRET, body) });
    expect(res.status).toBe(202);
    await t.ws.webhooks.processor.drain();
    expect(await count(t.ws, 'gex_snapshots')).toBe(1);
    expect(await count(t.ws, 'gex_strikes')).toBe(4);
    const latest = await call<{
      snapshot: { spot: number; zeroGamma: number; strikes: { strike: number; gexVol: number }[]; ts: string };
    }>(t.ws, 'webhooks.gexLatest', { ticker: 'spx' });
    expect(latest.snapshot.spot).toBe(7138.55);
    expect(latest.snapshot.zeroGamma).toBe(7112.95);
    expect(latest.snapshot.ts).toBe(new Date(1777492800 * 1000).toISOString());
    expect(latest.snapshot.strikes.map((s) => s.strike)).toEqual([6890, 6895, 7135, 7385]);
    expect(latest.snapshot.strikes[2].gexVol).toBe(1145.88);
    const tickers = await call<{ items: { ticker: string }[] }>(t.ws, 'webhooks.gexTickers', {});
    expect(tickers.items.map((i) => i.ticker)).toContain('SPX');
  });

  it('the latest UW GEX by strike is readable for the GEX view too', async () => {
    const frame = fixtureJson<[string, Record<string, string | number>]>('uw-gex-strike.json');
    const auth = { authorization: `Bearer ${SECRET}` };
    for (const strike of ['560', '565', '570']) {
      const f = [frame[0], { ...frame[1], strike }];
      expect((await post(t.ws, '/uw', JSON.stringify(f), { headers: auth })).status).toBe(202);
    }
    await t.ws.webhooks.processor.drain();
    const latest = await call<{ snapshot: { category: string; spot: number; strikes: { strike: number }[] } }>(
      t.ws,
      'webhooks.gexLatest',
      {
        ticker: 'SPY',
      },
    );
    expect(latest.snapshot.category).toBe('uw');
    expect(latest.snapshot.spot).toBe(562.96);
    expect(latest.snapshot.strikes.map((s) => s.strike)).toEqual([560, 565, 570]);
  });

  it('/gex_history_url queues an import job for a public URL (202 + job id) and refuses private targets', async () => {
    const auth = { authorization: `Bearer ${SECRET}` };
    const ok = await post(
      t.ws,
      '/gex_history_url',
      JSON.stringify({ url: 'https://93.184.215.14/SPX/classic/full/2026-01-05.json' }),
      { headers: auth },
    );
    expect(ok.status).toBe(202);
    expect(ok.json.jobId).toEqual(expect.any(String));
    const job = t.ws.stores.journal.db.prepare('SELECT url, origin FROM import_jobs WHERE id = ?').get(ok.json.jobId) as {
      url: string;
      origin: string;
    };
    expect(job).toEqual({ url: 'https://93.184.215.14/SPX/classic/full/2026-01-05.json', origin: 'webhook' });
    // A name that does not resolve now (RFC 6761 .invalid; offline; a DNS hiccup) is queued: the importer checks
    // the addresses again when it connects.
    const unresolved = await post(t.ws, '/gex_history_url', JSON.stringify({ url: 'https://gex-history.invalid/SPX.json' }), {
      headers: auth,
    });
    expect(unresolved.status).toBe(202);
    expect(unresolved.json.jobId).toEqual(expect.any(String));
    for (const url of [
      'http://127.0.0.1/x.json',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x',
      'http://10.1.2.3/a',
      'ftp://example.com/a',
      'http://localhost:8080/a',
      'http://[::ffff:127.0.0.1]/a',
      'http://2130706433/a',
      'http://0x7f.1/a',
      'http://100.64.1.1/a',
      'http://user:pw@93.184.215.14/a',
    ]) {
      const res = await post(t.ws, '/gex_history_url', JSON.stringify({ url }), { headers: auth });
      expect(res.status, url).toBe(422);
      expect(res.json.error?.issues[0].path).toEqual(['url']);
    }
    expect(inboxCount(t.ws, "WHERE route = '/gex_history_url'")).toBe(2);
  });

  it('"send test event" goes through the real listener and shows up in the live feed', async () => {
    const seen: number[] = [];
    const off = t.ws.events.subscribe((name, payload) => {
      if (name === 'webhooks.event') for (const e of (payload as { events: { id: number }[] }).events) seen.push(e.id);
    });
    for (const kind of ['tradingview', 'uw', 'gex'] as const) {
      const res = await call<{ status: number; id: number }>(t.ws, 'webhooks.sendTest', { kind });
      expect(res.status, kind).toBe(202);
      expect(seen).toContain(res.id);
    }
    off();
    const list = await call<{ items: { source: string; topic: string }[] }>(t.ws, 'webhooks.events', { source: 'test' });
    expect(list.items).toHaveLength(3);
    // The UW test event is a flow alert (what the button says), so it exercises that normaliser.
    expect(list.items.map((e) => e.topic).sort()).toEqual(['alert', 'flow-alerts', 'snapshot']);
    // Processed like any event, but a TEST ticker never lands in the tables the trader reads.
    await t.ws.webhooks.processor.drain();
    const detail = await call<{ status: string; table: string }>(t.ws, 'webhooks.event', {
      id: (list.items[0] as unknown as { id: number }).id,
    });
    expect(detail.status).toBe('done');
    expect(detail.table).toMatch(/\(test event: not stored\)$/);
    for (const table of ['alerts', 'uw_events', 'flow_alerts', 'gex_snapshots', 'gex_strikes']) {
      expect(await count(t.ws, table), table).toBe(0);
    }
    const setup = await call<{ url: string; template: string }>(t.ws, 'webhooks.tradingViewSetup', { reveal: true });
    expect(setup.url).toMatch(new RegExp(`/tradingview/${SECRET}$`));
    expect(setup.template).toContain('{{ticker}}');
    const status = await call<{ listening: boolean; acceptedSinceStart: number; eventsPerMinute: number }>(
      t.ws,
      'webhooks.status',
      {},
    );
    expect(status.listening).toBe(true);
    expect(status.acceptedSinceStart).toBe(3);
    expect(status.eventsPerMinute).toBe(3);
  });
});

describe('webhooks/0002: events stored before route masking', () => {
  it('lose the TradingView token from their route, keeping any query; other routes are untouched', async () => {
    const Database = (await import('better-sqlite3')).default;
    const { journalMigrations } = await import('../../core/webhooks');
    const db = new Database(':memory:');
    try {
      db.exec(journalMigrations[0].up as string);
      const insert = db.prepare(
        "INSERT INTO webhook_inbox (source, route, body, received_at, dedupe_key, content_hash) VALUES ('tradingview', ?, 'x', 1, ?, 'h')",
      );
      const routes = [
        '/tradingview/s3cret-token',
        '/tradingview/s3cret-token?strategy=a',
        '/tradingview',
        '/uw',
        '/tradingview/********',
      ];
      for (const [i, r] of routes.entries()) insert.run(r, `k${i}`);
      const mask = journalMigrations.find((m) => m.id === 'webhooks/0002_mask_tradingview_route_tokens');
      db.exec(mask?.up as string);
      expect(
        (db.prepare('SELECT route FROM webhook_inbox ORDER BY id').all() as { route: string }[]).map((r) => r.route),
      ).toEqual(['/tradingview/********', '/tradingview/********?strategy=a', '/tradingview', '/uw', '/tradingview/********']);
    } finally {
      db.close();
    }
  });
});

describe('payload values that do not depend on the machine', () => {
  it('reads a date-time without an offset as UTC, whatever the time zone of the machine', async () => {
    const { toEpochMs } = await import('../../core/webhooks');
    const saved = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(toEpochMs('2025-01-10T15:30:00')).toBe(Date.UTC(2025, 0, 10, 15, 30));
      expect(toEpochMs('2025-01-10 15:30:00.250')).toBe(Date.UTC(2025, 0, 10, 15, 30, 0, 250));
      expect(toEpochMs('2025-01-10T15:30:00-05:00')).toBe(Date.UTC(2025, 0, 10, 20, 30));
      expect(toEpochMs('2025-01-10')).toBe(Date.UTC(2025, 0, 10));
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('finds futures and crypto symbols with their exchange in text alerts', async () => {
    const { textAlertFields } = await import('../../core/webhooks/payloads');
    expect(textAlertFields('CME_MINI:ES1! crossing 5000.25')).toMatchObject({ exchange: 'CME_MINI', ticker: 'ES1!' });
    expect(textAlertFields('BINANCE:BTCUSDT.P breakout')).toMatchObject({ exchange: 'BINANCE', ticker: 'BTCUSDT.P' });
    expect(textAlertFields('Alert on NASDAQ:TSLA.')).toMatchObject({ exchange: 'NASDAQ', ticker: 'TSLA' });
  });
});
