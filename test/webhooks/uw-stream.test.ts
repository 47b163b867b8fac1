/**
 * The Unusual Whales stream inside a real workstation (real journal inbox, real processor, real warehouse)
 * against a fake UW socket on 127.0.0.1: a trader turns the stream on in Settings, frames land in the inbox
 * and their tables exactly once — across a dropped connection, a replayed frame, the same event posted to
 * /uw by a bridge, and junk frames that are refused without stopping the stream.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MethodOutput } from '../../core/api';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { eventually, FakeUwStream } from './fake-uw-stream';

const FIXTURES = '/work/shared/fixtures/webhooks';
const fixtureText = (name: string) => readFileSync(`${FIXTURES}/${name}`, 'utf8');
const fixture = (name: string): unknown => JSON.parse(fixtureText(name));
const SECRET = 'bridge-secret';
const CHANNELS = ['option_trades', 'flow-alerts', 'gex:SPY', 'gex_strike:SPY'];

async function call<T>(t: TestWorkstation, method: string, input: unknown): Promise<T> {
  const res = await t.ws.dispatcher.call(method, input);
  if (!res.ok) throw new Error(`${method}: ${res.error.message}`);
  return res.result as T;
}

type Events = MethodOutput<'webhooks.events'>;

async function count(t: TestWorkstation, sql: string): Promise<number> {
  const [row] = await t.ws.stores.warehouse.rows<{ n: number }>(sql);
  return row.n;
}

describe('Unusual Whales stream → inbox → tables', () => {
  let server: FakeUwStream;
  let t: TestWorkstation;

  beforeEach(async () => {
    server = await FakeUwStream.start('uw-token-123');
    t = await openTestWorkstation({ WEBHOOK_PORT: '0', WEBHOOK_SECRET: SECRET });
  });

  afterEach(async () => {
    await t.dispose();
    await server.close();
  });

  const streamEvents = (status?: string) =>
    call<Events>(t, 'webhooks.events', { source: 'uw-stream', limit: 100, ...(status ? { status } : {}) });

  it('turning the stream on in Settings joins every channel; frames reach the inbox and their tables once, across a drop', async () => {
    const announced: string[] = [];
    t.ws.events.subscribe((name, payload) => {
      if (name === 'webhooks.stream') announced.push((payload as { state: string }).state);
    });
    expect((await call<{ state: string }>(t, 'webhooks.streamStatus', {})).state).toBe('disabled');

    t.ws.settings.update({ UW_API_TOKEN: 'uw-token-123', UW_CHANNELS: CHANNELS.join(','), UW_STREAM_URL: server.url });
    await server.until(() => server.connections[0]?.joins.length === 4, 'four joins');
    expect(server.latest.token).toBe('uw-token-123');
    expect(server.latest.joins).toEqual(CHANNELS.map((channel) => ({ channel, msg_type: 'join' })));

    for (const name of ['uw-option-trade.json', 'uw-flow-alert.json', 'uw-gex.json', 'uw-gex-strike.json'])
      server.send(fixture(name));
    await eventually(async () => (await streamEvents()).items.length === 4, 'four stream events in the inbox');

    server.drop();
    await server.until(() => server.connections[1]?.joins.length === 4, 're-joined after the drop', 15_000);
    expect(server.connections[1].joins).toEqual(CHANNELS.map((channel) => ({ channel, msg_type: 'join' })));

    // After reconnecting the provider replays what it sent last, then carries on with a new trade.
    server.send(fixture('uw-flow-alert.json'));
    server.send(fixture('uw-gex-strike.json'));
    const [channel, trade] = fixture('uw-option-trade.json') as [string, Record<string, unknown>];
    server.send([channel, { ...trade, id: 'b7c1d2e3-0000-4000-8000-000000000002', size: 7 }]);

    await eventually(async () => (await streamEvents('done')).items.length === 5, 'five events processed', 15_000);
    const status = await call<{ framesAccepted: number; framesDuplicate: number; reconnectAttempts: number; state: string }>(
      t,
      'webhooks.streamStatus',
      {},
    );
    expect(status).toMatchObject({ state: 'open', framesAccepted: 5, framesDuplicate: 2, reconnectAttempts: 1 });
    expect(announced).toEqual(expect.arrayContaining(['connecting', 'open', 'backoff']));

    const inbox = (await streamEvents()).items;
    expect(inbox.map((e) => e.topic).sort()).toEqual(['flow-alerts', 'gex', 'gex_strike', 'option_trades', 'option_trades']);
    expect(inbox.every((e) => e.route === '/uw')).toBe(true);
    expect(
      await count(t, "SELECT count(*)::INTEGER AS n FROM flow_alerts WHERE id = '29ed5829-e4ce-4934-876b-51985d2f9b70'"),
    ).toBe(1);
    expect(await count(t, 'SELECT count(*)::INTEGER AS n FROM option_trades')).toBe(2);
    expect(await count(t, "SELECT count(*)::INTEGER AS n FROM gex_strikes WHERE ticker = 'SPY' AND strike = 290")).toBe(1);

    // The listener status the Webhooks page shows carries the stream's state too.
    const listener = await call<{ stream: { state: string; joinedChannels: string[] } | null }>(t, 'webhooks.status', {});
    expect(listener.stream).toMatchObject({ state: 'open', joinedChannels: CHANNELS });
  });

  it('a frame a bridge also posted to /uw is the same event: stored once, whichever path came first', async () => {
    t.ws.settings.update({ UW_API_TOKEN: 'uw-token-123', UW_CHANNELS: 'flow-alerts', UW_STREAM_URL: server.url });
    await server.until(() => server.connections[0]?.joins.length === 1, 'join');

    const url = t.ws.webhooks.url();
    const posted = await fetch(`${url}/uw`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: fixtureText('uw-flow-alert.json'),
    });
    expect(posted.status).toBeLessThan(300);
    server.send(fixture('uw-flow-alert.json'));
    await eventually(
      async () => (await call<{ framesDuplicate: number }>(t, 'webhooks.streamStatus', {})).framesDuplicate === 1,
      'dup',
    );

    const all = await call<Events>(t, 'webhooks.events', { topic: 'flow-alerts', limit: 10 });
    expect(all.items).toHaveLength(1);
    expect(all.items[0].source).toBe('uw');
  });

  it('junk frames are refused into the rejected log with the reason, and the stream keeps going', async () => {
    t.ws.settings.update({ UW_API_TOKEN: 'uw-token-123', UW_CHANNELS: 'option_trades', UW_STREAM_URL: server.url });
    await server.until(() => server.connections[0]?.joins.length === 1, 'join');
    const [channel, trade] = fixture('uw-option-trade.json') as [string, Record<string, unknown>];
    const { executed_at: _dropped, ...withoutTime } = trade;

    server.send('this is not json');
    server.send({ not: 'a frame' });
    server.send([channel, { ...withoutTime, id: 'no-time' }]);
    server.send(fixture('uw-option-trade.json'));

    await eventually(async () => (await streamEvents('done')).items.length === 1, 'the good trade processed');
    await eventually(
      async () => (await call<{ items: unknown[] }>(t, 'webhooks.rejected', { limit: 10 })).items.length === 3,
      'three rejected',
    );
    const rejected = (
      await call<{ items: { source: string | null; route: string; message: string }[] }>(t, 'webhooks.rejected', {})
    ).items;
    expect(rejected.every((r) => r.source === 'uw-stream' && r.route === '/uw')).toBe(true);
    expect(rejected.map((r) => r.message).join('\n')).toMatch(/not JSON/);
    expect(rejected.map((r) => r.message).join('\n')).toMatch(/\[channel, payload\]/);
    expect(rejected.map((r) => r.message).join('\n')).toMatch(/option_trades/);
    expect(t.logs.filter((l) => l.msg === 'Unusual Whales frame rejected')).toHaveLength(3);

    expect(await call(t, 'webhooks.streamStatus', {})).toMatchObject({ state: 'open', framesRejected: 3, framesAccepted: 1 });
    expect(await count(t, 'SELECT count(*)::INTEGER AS n FROM option_trades')).toBe(1);
    expect(await count(t, "SELECT count(*)::INTEGER AS n FROM option_trades WHERE id = 'no-time'")).toBe(0);
  });

  it('WEBHOOK_BODY_LIMIT bounds stream frames too: a bigger frame is in the rejected log, nothing in the tables', async () => {
    t.ws.settings.update({
      UW_API_TOKEN: 'uw-token-123',
      UW_CHANNELS: 'flow-alerts',
      UW_STREAM_URL: server.url,
      WEBHOOK_BODY_LIMIT: '4096',
    });
    await server.until(() => server.connections[0]?.joins.length === 1, 'join');
    server.send(['flow-alerts', { id: 'huge', ticker: 'TSLA', note: 'x'.repeat(8_000) }]);
    await eventually(
      async () => (await call<{ items: { message: string }[] }>(t, 'webhooks.rejected', {})).items.length === 1,
      'the oversized frame rejected',
    );
    const [rejected] = (await call<{ items: { source: string | null; message: string }[] }>(t, 'webhooks.rejected', {})).items;
    expect(rejected.source).toBe('uw-stream');
    expect(rejected.message).toMatch(/over 4096 bytes \(WEBHOOK_BODY_LIMIT\)/);
    expect(await count(t, 'SELECT count(*)::INTEGER AS n FROM flow_alerts')).toBe(0);
    expect((await streamEvents()).items).toHaveLength(0);
  });

  it('a refused token is reported as refused and not redialled; webhooks.streamReconnect and a new token dial again', async () => {
    const notices: { level: string; title: string; message: string; link?: string }[] = [];
    t.ws.events.subscribe((name, payload) => {
      if (name === 'system.notice') notices.push(payload as (typeof notices)[number]);
    });
    t.ws.settings.update({ UW_API_TOKEN: 'expired-token', UW_CHANNELS: 'flow-alerts', UW_STREAM_URL: server.url });
    await server.until(() => server.refused === 1, 'the refusal');
    const status = () => call<{ state: string; lastError: string | null }>(t, 'webhooks.streamStatus', {});
    await eventually(async () => (await status()).state === 'refused', 'refused');
    expect((await status()).lastError).toMatch(/refused the token \(HTTP 401\)/);
    // The listener status the page polls embeds the same state, and the trader is told once (toast / desktop notification).
    expect((await call<{ stream: { state: string } }>(t, 'webhooks.status', {})).stream.state).toBe('refused');
    const stopped = () => notices.filter((n) => n.title === 'Unusual Whales stream stopped');
    expect(stopped()).toEqual([
      {
        level: 'error',
        title: 'Unusual Whales stream stopped',
        message: expect.stringContaining('UW_API_TOKEN'),
        link: '#/webhooks',
      },
    ]);

    const again = await call<{ state: string }>(t, 'webhooks.streamReconnect', {});
    expect(['connecting', 'refused']).toContain(again.state);
    await server.until(() => server.refused === 2, 'a second attempt');
    await eventually(async () => (await status()).state === 'refused', 'refused again');
    expect(stopped()).toHaveLength(2);

    t.ws.settings.update({ UW_API_TOKEN: 'uw-token-123' });
    await server.until(() => server.connections[0]?.joins.length === 1, 'joined with the new token');
    await eventually(async () => (await status()).state === 'open', 'open');
    expect(server.refused).toBe(2);
  });

  it('changing the channels restarts the stream with the new joins; clearing the token turns it off', async () => {
    t.ws.settings.update({ UW_API_TOKEN: 'uw-token-123', UW_CHANNELS: 'flow-alerts', UW_STREAM_URL: server.url });
    await server.until(() => server.connections[0]?.joins.length === 1, 'first join');

    t.ws.settings.update({ UW_CHANNELS: 'flow-alerts,gex_strike:QQQ' });
    await server.until(() => server.connections[1]?.joins.length === 2, 'joins after the change');
    expect(server.connections[1].joins).toEqual([
      { channel: 'flow-alerts', msg_type: 'join' },
      { channel: 'gex_strike:QQQ', msg_type: 'join' },
    ]);
    await server.until(
      () => server.connections[0].socket.readyState === server.connections[0].socket.CLOSED,
      'old socket closed',
    );

    t.ws.settings.update({ UW_API_TOKEN: '' });
    await eventually(async () => (await call<{ state: string }>(t, 'webhooks.streamStatus', {})).state === 'disabled', 'off');
    await server.until(() => server.connections[1].socket.readyState === server.connections[1].socket.CLOSED, 'socket closed');
  });
});
