import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callOrThrow } from '../../core/api';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { BASE_ENV, count, fixture, fixtureJson, inboxCount, post, SECRET, signedHeaders } from './support';

const auth = { authorization: `Bearer ${SECRET}` };

describe('duplicates: every event is stored once, a conflicting one is refused', () => {
  let t: TestWorkstation;
  beforeEach(async () => {
    t = await openTestWorkstation(BASE_ENV);
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('the same provider id with the same content is a 200 duplicate stored once; with different content it is a 409', async () => {
    const body = fixture('uw-flow-alert.json');
    const first = await post(t.ws, '/uw', body, { headers: auth });
    expect(first.status).toBe(202);
    // Same event, re-serialised differently (whitespace) and sent as a bare payload with a topic.
    const [, payload] = fixtureJson<[string, Record<string, unknown>]>('uw-flow-alert.json');
    const again = await post(t.ws, '/uw', JSON.stringify([`flow-alerts`, payload]), { headers: auth });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ ok: true, id: first.json.id, duplicate: true });
    const conflict = await post(t.ws, '/uw', JSON.stringify(['flow-alerts', { ...payload, total_premium: 99 }]), {
      headers: auth,
    });
    expect(conflict.status).toBe(409);
    expect(conflict.json.error?.code).toBe('duplicate_conflict');
    expect(inboxCount(t.ws)).toBe(1);
    await t.ws.webhooks.processor.drain();
    expect(await count(t.ws, 'flow_alerts')).toBe(1);
  });

  it('a bare payload keeps its own "type" field: the same event as a frame and as a bare payload is one', async () => {
    const [, payload] = fixtureJson<[string, Record<string, unknown>]>('uw-flow-alert.json');
    const withType = { ...payload, id: 'fa-type', type: 'call' };
    const frame = await post(t.ws, '/uw', JSON.stringify(['flow-alerts', withType]), { headers: auth });
    expect(frame.status).toBe(202);
    const bare = await post(t.ws, '/uw', JSON.stringify({ topic: 'flow-alerts', ...withType }), { headers: auth });
    expect([bare.status, bare.json.duplicate]).toEqual([200, true]);
    expect(inboxCount(t.ws)).toBe(1);
  });

  it('a stream frame refused by the schema or as a conflict is logged with the fields at fault', async () => {
    const [, trade] = fixtureJson<[string, Record<string, unknown>]>('uw-option-trade.json');
    const frame = (payload: unknown) => ({
      channel: 'option_trades',
      payload,
      raw: JSON.stringify(['option_trades', payload]),
      receivedAt: Date.now(),
    });
    const bad = await t.ws.webhooks.ingestUwFrame(frame({ ...trade, id: 'bad-1', price: 'abc' }));
    expect(bad.outcome).toBe('rejected');
    await t.ws.webhooks.ingestUwFrame(frame({ ...trade, id: 'dup-1' }));
    expect((await t.ws.webhooks.ingestUwFrame(frame({ ...trade, id: 'dup-1', size: 999 }))).outcome).toBe('rejected');
    const rows = (await callOrThrow(t.ws.dispatcher, 'webhooks.rejected', {})).items;
    expect(rows.map((r) => r.status)).toEqual([409, 422]);
    expect(rows[0].issues[0]).toMatchObject({ message: expect.stringContaining('different content') });
    expect(rows[1].issues.map((i) => i.path.join('.'))).toContain('1.price');
  });

  it('a Standard Webhooks id is the idempotency key: a redelivery is a duplicate, the same id with another body a 409', async () => {
    const body = fixture('gexbot-classic.json');
    const headers = signedHeaders(SECRET, body, { id: 'msg_gex_1' });
    expect((await post(t.ws, '/gex', body, { headers })).status).toBe(202);
    expect((await post(t.ws, '/gex', body, { headers: signedHeaders(SECRET, body, { id: 'msg_gex_1' }) })).status).toBe(200);
    const other = JSON.stringify({ ...JSON.parse(body), spot: 1 });
    expect((await post(t.ws, '/gex', other, { headers: signedHeaders(SECRET, other, { id: 'msg_gex_1' }) })).status).toBe(409);
    const tv = '{"ticker":"NVDA","action":"buy"}';
    expect((await post(t.ws, '/tradingview', tv, { headers: signedHeaders(SECRET, tv, { id: 'tv_1' }) })).status).toBe(202);
    expect((await post(t.ws, '/tradingview', tv, { headers: signedHeaders(SECRET, tv, { id: 'tv_1' }) })).status).toBe(200);
  });

  it('GEX strike rows dedupe on ticker + expiry + strike + timestamp', async () => {
    const frame = fixtureJson<[string, Record<string, unknown>]>('uw-gex-strike.json');
    expect((await post(t.ws, '/uw', JSON.stringify(frame), { headers: auth })).status).toBe(202);
    expect((await post(t.ws, '/uw', JSON.stringify(frame), { headers: auth })).status).toBe(200);
    const later = [frame[0], { ...frame[1], timestamp: (frame[1].timestamp as number) + 1000 }];
    expect((await post(t.ws, '/uw', JSON.stringify(later), { headers: auth })).status).toBe(202);
    await t.ws.webhooks.processor.drain();
    expect(await count(t.ws, 'gex_strikes')).toBe(2);
  });

  it('TradingView: an identical body inside the dedupe window is a duplicate (TradingView may resend)', async () => {
    const body = fixture('tradingview-pipe.txt');
    const a = await post(t.ws, `/tradingview/${SECRET}`, body, { contentType: 'text/plain' });
    const b = await post(t.ws, `/tradingview/${SECRET}`, body, { contentType: 'text/plain' });
    expect(a.status).toBe(202);
    expect(b).toMatchObject({ status: 200, json: { id: a.json.id, duplicate: true } });
    const c = await post(t.ws, `/tradingview/${SECRET}`, `${body} `, { contentType: 'text/plain' });
    expect(c.status).toBe(202);
  });

  it('many copies of the same event arriving together (one group commit) are stored once', async () => {
    const body = fixture('uw-option-trade.json');
    const answers = await Promise.all(Array.from({ length: 30 }, () => post(t.ws, '/uw', body, { headers: auth })));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(29);
    expect(new Set(answers.map((a) => a.json.id)).size).toBe(1);
  });
});
