import { afterEach, describe, expect, it } from 'vitest';
import { signingKey, signStandardWebhook } from '../../core/webhooks';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { count, fixture, fixtureJson, inboxCount, SECRET } from './support';

/** Small seeded PRNG so a failure can be reproduced. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Req {
  path: string;
  body: string | Buffer;
  headers: Record<string, string>;
  kind: string;
}

const LIMIT = 65_536;

function malformed(rand: () => number, n: number): Req {
  const json = { 'content-type': 'application/json' };
  const bearer = { ...json, authorization: `Bearer ${SECRET}` };
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const trade = fixtureJson<[string, Record<string, unknown>]>('uw-option-trade.json')[1];
  const gex = fixtureJson<Record<string, unknown>>('gexbot-classic.json');
  const key = signingKey(SECRET);
  const sign = (body: string, ts = Math.floor(Date.now() / 1000), id = `fz_${n}`) => ({
    ...json,
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signStandardWebhook(key, id, ts, body),
  });
  // Values no coercion can turn into a number, a time or a ticker.
  const junkValue = () => pick<unknown>([{}, [], 'abc', true, { $gt: 1 }, 'NaN', '1e999', [1, [2, [3]]]]);
  switch (n % 14) {
    case 0: {
      const full = JSON.stringify(['option_trades', { ...trade, id: `bad-${n}` }]);
      return {
        kind: 'broken json',
        path: pick(['/uw', '/gex']),
        body: full.slice(0, Math.floor(rand() * (full.length - 2)) + 1),
        headers: bearer,
      };
    }
    case 1: {
      const field = pick(['price', 'size', 'strike', 'executed_at', 'nbbo_bid', 'premium']);
      return {
        kind: 'wrong type',
        path: '/uw',
        body: JSON.stringify(['option_trades', { ...trade, id: `bad-${n}`, [field]: junkValue() }]),
        headers: bearer,
      };
    }
    case 2: {
      const field = pick(['timestamp', 'ticker', 'strikes', 'spot', 'zero_gamma']);
      const v =
        field === 'strikes'
          ? pick<unknown>(['x', [['a', 1]], [[1, 'b']], 5])
          : field === 'ticker'
            ? pick<unknown>([{}, [], true, 42, ''])
            : junkValue();
      return { kind: 'wrong gex type', path: '/gex', body: JSON.stringify({ ...gex, [field]: v }), headers: bearer };
    }
    case 3:
      return {
        kind: 'huge body',
        path: pick(['/uw', '/gex', `/tradingview/${SECRET}`]),
        body: `{"topic":"news","x":"${'z'.repeat(LIMIT + Math.floor(rand() * 5000))}"}`,
        headers: bearer,
      };
    case 4:
      return {
        kind: 'wrong content type',
        path: pick(['/uw', '/gex', `/tradingview/${SECRET}`, '/gex_history_url']),
        body: Buffer.from(fixture('uw-flow-alert.json')),
        headers: {
          'content-type': pick([
            'application/xml',
            'application/x-www-form-urlencoded',
            'image/png',
            'text/html',
            'application/octet-stream',
          ]),
          authorization: `Bearer ${SECRET}`,
        },
      };
    case 5: {
      const body = fixture('uw-flow-alert.json');
      const h = sign(body);
      const sig = h['webhook-signature'];
      return {
        kind: 'bad signature',
        path: '/uw',
        body,
        headers: { ...h, 'webhook-signature': `v1,${Buffer.from(sig).toString('base64').slice(0, 44)}` },
      };
    }
    case 6: {
      const body = JSON.stringify([
        'flow-alerts',
        { ...fixtureJson<[string, Record<string, unknown>]>('uw-flow-alert.json')[1], id: `replay-${n}` },
      ]);
      return { kind: 'replayed signature', path: '/uw', body, headers: sign(body, Math.floor(Date.now() / 1000) - 3600) };
    }
    case 7:
      return {
        kind: 'bad token',
        path: `/tradingview/${pick(['x', 'secret', SECRET.slice(1), `${SECRET}x`, '%00'])}`,
        body: 'buy NVDA',
        headers: { 'content-type': 'text/plain' },
      };
    case 8: {
      const bytes = Buffer.alloc(1 + Math.floor(rand() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rand() * 256);
      bytes[0] = 0x7b; // "{" then garbage
      return { kind: 'random bytes', path: pick(['/uw', '/gex']), body: bytes, headers: bearer };
    }
    case 9:
      return {
        kind: 'bad frame',
        path: '/uw',
        body: JSON.stringify(
          pick<unknown>([[1, 2, 3], ['option_trades'], [null, {}], 42, '"str"', ['gex', 'x'], { topic: 5 }, { ticker: 'SPY' }]),
        ),
        headers: bearer,
      };
    case 10:
      return {
        kind: 'bad history url',
        path: '/gex_history_url',
        body: JSON.stringify({
          url: pick([
            'file:///etc/passwd',
            'http://127.0.0.1:7420/api',
            'http://169.254.169.254/',
            'gopher://x',
            'not a url',
            'http://10.0.0.1/x',
            'http://[::1]/',
          ]),
        }),
        headers: bearer,
      };
    case 11: {
      const body = JSON.stringify([
        'option_trades',
        { ...trade, id: `bad-${n}`, option_symbol: undefined, option_chain: undefined },
      ]);
      return { kind: 'missing field', path: '/uw', body, headers: sign(body) };
    }
    case 12:
      return {
        kind: 'no auth',
        path: pick(['/uw', '/gex', '/gex_history_url', '/tradingview']),
        body: fixture('uw-gex.json'),
        headers: json,
      };
    default:
      return { kind: 'empty body', path: pick(['/uw', '/gex', `/tradingview/${SECRET}`]), body: '', headers: bearer };
  }
}

describe('fuzz: malformed requests only ever get a 4xx, and good events keep flowing', () => {
  let t: TestWorkstation | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('5,000+ malformed requests: no 5xx, no 2xx, nothing in clean tables; valid events accepted during and after', async () => {
    t = await openTestWorkstation({
      WEBHOOK_PORT: '0',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BODY_LIMIT: String(LIMIT),
      WEBHOOK_RATE_LIMIT: '1000000',
    });
    const base = t.ws.webhooks.url();
    const rand = prng(20261122);
    const [, trade] = fixtureJson<[string, Record<string, unknown>]>('uw-option-trade.json');
    const TOTAL = 5_600;
    const bad: { kind: string; status: number }[] = [];
    const good: number[] = [];
    let next = 0;
    let validSent = 0;
    const send = async (r: Req) => {
      const body = typeof r.body === 'string' ? r.body : new Uint8Array(r.body);
      const res = await fetch(`${base}${r.path}`, {
        method: 'POST',
        headers: r.headers,
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      return res.status;
    };
    const worker = async () => {
      while (next < TOTAL) {
        const n = next++;
        if (n % 40 === 0) {
          const id = `good-${validSent++}`;
          good.push(
            await send({
              kind: 'valid',
              path: '/uw',
              body: JSON.stringify(['option_trades', { ...trade, id }]),
              headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
            }),
          );
          continue;
        }
        const r = malformed(rand, n);
        bad.push({ kind: r.kind, status: await send(r) });
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
    for (let i = 0; i < 20; i++) {
      const id = `good-${validSent++}`;
      good.push(
        await send({
          kind: 'valid',
          path: '/uw',
          body: JSON.stringify(['option_trades', { ...trade, id }]),
          headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        }),
      );
    }

    expect(bad.length).toBeGreaterThanOrEqual(5_000);
    const notClientError = bad.filter((b) => b.status < 400 || b.status >= 500);
    expect(notClientError).toEqual([]);
    const byKind = new Map<string, Set<number>>();
    for (const b of bad) byKind.set(b.kind, (byKind.get(b.kind) ?? new Set()).add(b.status));
    expect(byKind.get('huge body')).toEqual(new Set([413]));
    expect(byKind.get('wrong content type')).toEqual(new Set([415]));
    expect(byKind.get('replayed signature')).toEqual(new Set([401]));
    expect(good.every((s) => s === 202)).toBe(true);

    await t.ws.webhooks.processor.drain();
    expect(inboxCount(t.ws)).toBe(validSent);
    expect(await count(t.ws, 'option_trades')).toBe(validSent);
    expect(await count(t.ws, 'option_trades', "WHERE id NOT LIKE 'good-%'")).toBe(0);
    for (const table of ['alerts', 'flow_alerts', 'uw_events', 'gex_snapshots', 'gex_strikes'])
      expect(await count(t.ws, table), table).toBe(0);
    expect(t.ws.webhooks.status().rejectedSinceStart).toBe(bad.length);
    expect(t.ws.webhooks.status().errors).toBe(0);
  }, 120_000);
});
