import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { BASE_ENV, call, count, fixture, inboxCount, post, SECRET } from './support';

const auth = { authorization: `Bearer ${SECRET}` };

describe('webhook limits and errors', () => {
  let t: TestWorkstation | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('answers 413 for a body over the limit, 415 for other content types, 400 for empty or broken JSON, 422 naming the bad field with a hint', async () => {
    t = await openTestWorkstation({ ...BASE_ENV, WEBHOOK_BODY_LIMIT: '4096' });
    const big = await post(t.ws, '/uw', `{"topic":"news","x":"${'a'.repeat(5000)}"}`, { headers: auth });
    expect(big.status).toBe(413);
    expect(big.json.error?.code).toBe('body_too_large');

    for (const ct of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', null]) {
      // (a Buffer body so fetch adds no content type of its own when ct is null)
      const res = await post(t.ws, '/uw', Buffer.from(fixture('uw-flow-alert.json')), { contentType: ct, headers: auth });
      expect(res.status, String(ct)).toBe(415);
      expect(res.json.error?.issues[0].path).toEqual(['content-type']);
    }
    const empty = await post(t.ws, '/uw', '', { headers: auth });
    expect(empty.status).toBe(400);
    const broken = await post(t.ws, '/uw', '{"topic": "news",', { headers: auth });
    expect(broken.status).toBe(400);
    expect(broken.json.error?.code).toBe('invalid_json');

    const badTrade = [
      'option_trades',
      { id: 'x', option_symbol: 'TSLA251121C00460000', price: 'six', executed_at: 1762267198123 },
    ];
    const res = await post(t.ws, '/uw', JSON.stringify(badTrade), { headers: auth });
    expect(res.status).toBe(422);
    expect(res.json.error?.issues[0]).toMatchObject({ path: [1, 'price'], hint: expect.stringContaining('price') });
    const noTopic = await post(t.ws, '/uw', '{"ticker":"SPY"}', { headers: auth });
    expect(noTopic.status).toBe(422);
    expect(noTopic.json.error?.issues[0].path).toEqual(['topic']);
    const badGex = await post(t.ws, '/gex', JSON.stringify({ ticker: 'SPX', timestamp: 'yesterday', strikes: [[1, 'x']] }), {
      headers: auth,
    });
    expect(badGex.status).toBe(422);
    expect(badGex.json.error?.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['timestamp', 'strikes.0.1']));

    expect(inboxCount(t.ws)).toBe(0);
    await t.ws.webhooks.processor.drain();
    for (const table of ['alerts', 'option_trades', 'flow_alerts', 'uw_events', 'gex_snapshots', 'gex_strikes']) {
      expect(await count(t.ws, table), table).toBe(0);
    }
    const rejected = await call<{ items: { status: number }[] }>(t.ws, 'webhooks.rejected', { limit: 50 });
    expect(rejected.items.map((r) => r.status).sort()).toEqual([400, 400, 413, 415, 415, 415, 415, 422, 422, 422]);
  });

  it('takes compressed bodies (gzip, deflate, br) and a UTF-8 byte-order mark; refuses bombs, unknown and broken encodings', async () => {
    t = await openTestWorkstation({ ...BASE_ENV, WEBHOOK_BODY_LIMIT: '4096' });
    const frame = fixture('uw-flow-alert.json');
    const send = (body: Buffer, encoding: string, contentType = 'application/json') =>
      post(t?.ws as TestWorkstation['ws'], '/uw', body, { contentType, headers: { ...auth, 'content-encoding': encoding } });
    const news = (id: string) => JSON.stringify({ topic: 'news', id, headline: 'h' });
    const accepted = [
      await send(gzipSync(frame), 'gzip'),
      await send(deflateSync(news('deflated')), 'deflate'),
      await send(brotliCompressSync(news('brotli')), 'br'),
      await send(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(news('bom'))]), 'identity'),
    ];
    expect(accepted.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    const stored = await call<{ body: string; symbol: string | null }>(t.ws, 'webhooks.event', { id: accepted[0].json.id });
    expect(JSON.parse(stored.body)).toEqual(JSON.parse(frame));

    // 1 MB of zeros gzips to ~1 KB: under the limit as sent, far over it once inflated.
    const bomb = await send(gzipSync(Buffer.alloc(1_000_000, 0x20)), 'gzip');
    expect([bomb.status, bomb.json.error?.code]).toEqual([413, 'body_too_large']);
    const unknown = await send(Buffer.from(news('z')), 'zstd-experimental');
    expect([unknown.status, unknown.json.error?.code]).toEqual([415, 'unsupported_content_encoding']);
    expect(unknown.json.error?.issues[0].path).toEqual(['content-encoding']);
    const broken = await send(Buffer.from(news('not-gzip')), 'gzip');
    expect([broken.status, broken.json.error?.code]).toEqual([400, 'bad_content_encoding']);
    expect(inboxCount(t.ws)).toBe(4);
  });

  it('rate-limits each source and client with a token bucket: 429 with Retry-After, other sources unaffected', async () => {
    t = await openTestWorkstation({ ...BASE_ENV, WEBHOOK_RATE_LIMIT: '5' });
    const ws = t.ws;
    // 30 at once against a bucket of 10 (burst = 2 × 5/s): the first ten pass, the rest wait.
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => post(ws, `/tradingview/${SECRET}`, `alert ${i}`, { contentType: 'text/plain' })),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(10);
    expect(statuses.filter((s) => s === 202).length).toBeLessThanOrEqual(13);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(17);
    const limited = answers.find((a) => a.status === 429);
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited?.json.error?.code).toBe('rate_limited');
    const other = await post(t.ws, '/uw', fixture('uw-flow-alert.json'), { headers: auth });
    expect(other.status).toBe(202);
  });

  it('answers 503, never 2xx, while the store is unavailable', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const db = t.ws.stores.journal.db;
    // Another connection holding the write lock stands in for a store that cannot commit.
    db.prepare('BEGIN IMMEDIATE').run();
    try {
      const res = await post(t.ws, '/uw', fixture('uw-flow-alert.json'), { headers: auth });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
    } finally {
      db.prepare('ROLLBACK').run();
    }
    const again = await post(t.ws, '/uw', fixture('uw-flow-alert.json'), { headers: auth });
    expect(again.status).toBe(202);
    t.ws.stores.journal.close();
    const closed = await post(t.ws, '/uw', fixture('uw-option-trade.json'), { headers: auth });
    expect(closed.status).toBe(503);
  });
});
