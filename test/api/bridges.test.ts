import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApiCallError, ApiClient, httpTransport } from '../../core/api';
import { type ControlServer, startControlServer } from '../../core/server';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

let t: TestWorkstation;
let server: ControlServer;

beforeEach(async () => {
  t = await openTestWorkstation();
  server = await startControlServer({ dispatcher: t.ws.dispatcher, events: t.ws.events, logger: t.ws.logger, port: 0 });
});
afterEach(async () => {
  await server.close();
  await t.dispose();
});

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}`, ...headers },
    body,
  });

/** fetch() will not send a foreign Host header; a DNS-rebinding page would, so use node:http. */
function statusWithHost(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}/api/call/system.status`,
      { method: 'POST', headers: { host, 'content-type': 'application/json', authorization: `Bearer ${server.token}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.once('error', reject);
    req.end('{}');
  });
}

describe('the contract over the dispatcher', () => {
  it('answers system.status with versions, data dir, store health and uptime', async () => {
    const res = await t.ws.dispatcher.call('system.status', {});
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const status = res.result as { dataDir: string; stores: { warehouse: { ok: boolean } }; versions: { node: string } };
    expect(status.dataDir).toBe(t.dataDir);
    expect(status.stores.warehouse.ok).toBe(true);
    expect(status.versions.node).toBe(process.versions.node);
  });

  it('refuses bad input with the zod issues and an unknown method by name', async () => {
    const bad = await t.ws.dispatcher.call('settings.update', { values: 'CACHE_TTL_HOURS=3' });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.error.code).toBe('invalid_input');
    expect(bad.error.issues?.[0].path).toEqual(['values']);
    const extra = await t.ws.dispatcher.call('system.status', { verbose: true });
    expect(extra.ok).toBe(false);
    const unknown = await t.ws.dispatcher.call('system.explode', {});
    expect(unknown.ok ? null : unknown.error).toMatchObject({ code: 'unknown_method', status: 404 });
  });
});

describe('the contract over HTTP and WebSocket', () => {
  it('serves calls to a client holding the token, and refuses one without it', async () => {
    const client = new ApiClient(httpTransport(server.url, server.token));
    const view = await client.call('settings.get', {});
    expect(view.values.CACHE_SYMBOLS).toEqual(['NVDA', 'TSLA']);

    const anonymous = new ApiClient(httpTransport(server.url, ''));
    await expect(anonymous.call('settings.get', {})).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('sends bar columns to its own client as Float64Array, bit for bit, and as plain arrays to any other client', async () => {
    const cache = t.ws.barCache;
    const start = Date.UTC(2026, 0, 5);
    const day = 86_400_000;
    const bars = Array.from({ length: 5 }, (_, i) => ({
      ts: start + i * day,
      open: 0.1 + 0.2 + i,
      high: 101.3 + i,
      low: 1 / 3 + i,
      close: 100.2 + i / 7,
      volume: 1000 + i,
      wap: 100,
      count: 10,
    }));
    await cache.store(cache.seriesKey('NVDA', '1 day'), [{ start, end: start + 5 * day }], bars, Date.UTC(2026, 0, 10));
    const input = { symbol: 'NVDA', barSize: '1 day', from: start, to: start + 5 * day } as const;
    const local = await t.ws.dispatcher.call('cache.get', input);
    if (!local.ok) throw new Error(local.error.message);
    const expected = (local.result as { columns: Record<string, Float64Array> }).columns;

    const remote = await new ApiClient(httpTransport(server.url, server.token)).call('cache.get', input);
    expect(remote.count).toBe(5);
    for (const [name, column] of Object.entries(expected)) {
      const got = remote.columns[name as keyof typeof remote.columns];
      expect(got).toBeInstanceOf(Float64Array);
      expect(Array.from(got)).toEqual(Array.from(column));
    }
    expect(Array.from(remote.columns.open)).toEqual(bars.map((b) => b.open));

    // A client that does not ask for them (curl, a script) gets JSON arrays of numbers.
    const plain = (await (await post('/api/call/cache.get', JSON.stringify(input))).json()) as {
      result: { columns: Record<string, number[]> };
    };
    expect(plain.result.columns.low).toEqual(bars.map((b) => b.low));
    expect(plain.result.columns.ts).toEqual(bars.map((b) => b.ts));
  });

  it('returns field errors for a bad setting and stores nothing', async () => {
    const client = new ApiClient(httpTransport(server.url, server.token));
    const err = await client.call('settings.update', { values: { CACHE_TTL_HOURS: -5 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect((err as ApiCallError).issues.map((i) => i.path[0])).toEqual(['CACHE_TTL_HOURS']);
    expect(t.ws.settings.get().CACHE_TTL_HOURS).toBe(24);
  });

  it('answers malformed requests with 4xx and stays healthy', async () => {
    expect((await post('/api/call/settings.update', '{"values": ')).status).toBe(400);
    expect((await post('/api/call/settings.update', 'not json', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('/api/call/settings.update', '[1,2]')).status).toBe(400);
    // `null` is not "no input": a method that takes none refuses it too, and nothing runs.
    const backupsBefore = (await t.ws.dispatcher.call('backups.list', {})) as { ok: true; result: { backups: unknown[] } };
    const nul = await post('/api/call/backups.create', 'null');
    expect(nul.status).toBe(400);
    expect(((await nul.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('(input)'),
    });
    const backupsAfter = (await t.ws.dispatcher.call('backups.list', {})) as { ok: true; result: { backups: unknown[] } };
    expect(backupsAfter.result.backups).toHaveLength(backupsBefore.result.backups.length);
    expect((await post('/api/call/system.status', '')).status).toBe(200);
    expect((await post('/api/call/nope.nothing', '{}')).status).toBe(404);
    expect(await statusWithHost('evil.example:80')).toBe(421);
    expect(await statusWithHost(`localhost:${server.port}`)).toBe(200);
    const ok = await post('/api/call/system.status', '{}');
    expect(ok.status).toBe(200);
  });

  it('names a prototype key or broken JSON as such, and cuts off a big WebSocket frame', async () => {
    const answer = async (body: string) => {
      const res = await post('/api/call/settings.update', body);
      return [res.status, ((await res.json()) as { error: { message: string } }).error.message];
    };
    expect(await answer('{"values": {"__proto__": {"LOG_LEVEL": "debug"}}}')).toEqual([
      400,
      'The input holds a "__proto__" key, which is never accepted',
    ]);
    expect(await answer('{"values": {"constructor": {"prototype": {"x": 1}}}}')).toEqual([
      400,
      'The input holds a "constructor.prototype" key, which is never accepted',
    ]);
    expect(await answer('{"values": ')).toEqual([400, expect.stringMatching(/^The input is not valid JSON: /)]);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/events?token=${server.token}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Buffer.alloc(1024 * 1024, 1));
    expect(await closed).toBe(1009); // message too big
    expect((await post('/api/call/system.status', '{}')).status).toBe(200);
  });

  it('pushes events to a WebSocket that has the token, and refuses one that has not', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/events?token=${server.token}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const got = new Promise<{ event: string; payload: { changed: string[] } }>((resolve) =>
      ws.once('message', (data) => resolve(JSON.parse(String(data)))),
    );
    await post('/api/call/settings.update', JSON.stringify({ values: { CACHE_EXCHANGE: 'NYSE' } }));
    expect(await got).toEqual({ event: 'settings.changed', payload: { changed: ['CACHE_EXCHANGE'] } });
    ws.close();

    const refused = new WebSocket(`${server.url.replace('http', 'ws')}/api/events?token=wrong`);
    const outcome = await new Promise<string>((resolve) => {
      refused.once('open', () => resolve('open'));
      refused.once('error', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');

    // With the token but through a foreign Host (DNS rebinding), the upgrade is refused like any request.
    const rebound = new WebSocket(`${server.url.replace('http', 'ws')}/api/events?token=${server.token}`, {
      headers: { host: 'evil.example.com' },
    });
    const status = await new Promise<string>((resolve) => {
      rebound.once('open', () => resolve('open'));
      rebound.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      rebound.once('error', (err) => resolve(err.message));
    });
    expect(status).toMatch(/421/);
  });
});
