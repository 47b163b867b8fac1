import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { signingKey, signStandardWebhook } from '../../core/webhooks';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { BASE_ENV, call, fixture, inboxCount, post, SECRET, signedHeaders } from './support';

describe('webhook authentication', () => {
  let t: TestWorkstation | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('refuses wrong tokens, missing auth, bad/expired/replayed signatures with 401 and logs each with its reason', async () => {
    t = await openTestWorkstation(BASE_ENV);
    const ws = t.ws;
    const body = fixture('uw-flow-alert.json');
    const cases: { name: string; path: string; headers?: Record<string, string>; body?: string; code: string }[] = [
      { name: 'wrong path token', path: '/tradingview/not-the-secret', code: 'bad_token' },
      { name: 'no secret at all', path: '/tradingview', body: '{"ticker":"NVDA"}', code: 'auth_required' },
      { name: 'wrong passphrase', path: '/tradingview', body: '{"passphrase":"nope","ticker":"NVDA"}', code: 'auth_required' },
      { name: 'no auth on /uw', path: '/uw', code: 'auth_required' },
      { name: 'wrong bearer', path: '/uw', headers: { authorization: 'Bearer nope' }, code: 'bad_token' },
      { name: 'signed with another key', path: '/uw', headers: signedHeaders('another-secret', body), code: 'bad_signature' },
      {
        name: 'signature of another body',
        path: '/gex',
        headers: signedHeaders(SECRET, '{"x":1}'),
        body: fixture('gexbot-classic.json'),
        code: 'bad_signature',
      },
      {
        name: 'replayed after 10 minutes',
        path: '/uw',
        headers: signedHeaders(SECRET, body, { at: new Date(Date.now() - 10 * 60_000) }),
        code: 'timestamp_out_of_tolerance',
      },
      { name: 'partial headers', path: '/uw', headers: { 'webhook-id': 'msg_1' }, code: 'signature_headers_missing' },
    ];
    for (const c of cases) {
      const res = await post(ws, c.path, c.body ?? body, { headers: c.headers });
      expect(res.status, c.name).toBe(401);
      expect(res.json.error?.code, c.name).toBe(c.code);
    }
    expect(inboxCount(ws)).toBe(0);
    const rejected = await call<{ items: { code: string; status: number; route: string }[] }>(ws, 'webhooks.rejected', {});
    expect(rejected.items.map((r) => r.code).reverse()).toEqual(cases.map((c) => c.code));
    expect(rejected.items.some((r) => r.route.includes('not-the-secret'))).toBe(false);
  });

  it('accepts Standard Webhooks signatures from the reference package, several signatures (key rotation), whsec_ keys and bearer tokens', async () => {
    const whsec = `whsec_${Buffer.from('a-rotated-signing-key-0123456789').toString('base64')}`;
    t = await openTestWorkstation({ ...BASE_ENV, WEBHOOK_SECRET: whsec });
    const body = fixture('uw-option-trade.json');
    const id = 'msg_rotation';
    const ts = Math.floor(Date.now() / 1000);
    const good = signStandardWebhook(signingKey(whsec), id, ts, body);
    const old = signStandardWebhook(signingKey('old-key'), id, ts, body);
    const res = await post(t.ws, '/uw', body, {
      headers: { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `${old} ${good}` },
    });
    expect(res.status).toBe(202);
    const bearer = await post(t.ws, '/uw', fixture('uw-flow-alert.json'), { headers: { authorization: `Bearer ${whsec}` } });
    expect(bearer.status).toBe(202);
  });

  it('a client signing with the reference package and the secret as given (base64-decoded by the package) is accepted', async () => {
    for (const secret of [
      `whsec_${Buffer.from('k'.repeat(32)).toString('base64')}`,
      Buffer.from('z'.repeat(24)).toString('base64'),
    ]) {
      t = await openTestWorkstation({ ...BASE_ENV, WEBHOOK_SECRET: secret });
      const body = fixture('uw-option-trade.json');
      const id = `msg_${secret.length}`;
      const at = new Date();
      const signature = new Webhook(secret).sign(id, at, body);
      const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)) };
      const res = await post(t.ws, '/uw', body, { headers: { ...headers, 'webhook-signature': signature } });
      expect(res.status, secret).toBe(202);
      const forged = new Webhook(Buffer.from('another-key-of-24-bytes!').toString('base64')).sign(id, at, body);
      const bad = await post(t.ws, '/uw', body, { headers: { ...headers, 'webhook-signature': forged } });
      expect([bad.status, bad.json.error?.code], secret).toEqual([401, 'bad_signature']);
      await t.dispose();
      t = undefined;
    }
  });

  it('without WEBHOOK_SECRET only local, un-forwarded requests are accepted', async () => {
    t = await openTestWorkstation({ WEBHOOK_PORT: '0' });
    const local = await post(t.ws, '/tradingview', fixture('tradingview-plain.txt'), { contentType: 'text/plain' });
    expect(local.status).toBe(202);
    const tunnelled = await post(t.ws, '/tradingview', fixture('tradingview-plain.txt'), {
      contentType: 'text/plain',
      headers: { 'x-forwarded-for': '52.89.214.238' },
    });
    expect(tunnelled.status).toBe(401);
    expect(tunnelled.json.error?.code).toBe('no_secret_configured');
    const status = await call<{ authMode: string }>(t.ws, 'webhooks.status', {});
    expect(status.authMode).toBe('loopback-only');
  });

  it('without WEBHOOK_SECRET the listener refuses to bind a non-loopback address and says why', async () => {
    t = await openTestWorkstation({ WEBHOOK_PORT: '0', WEBHOOK_HOST: '0.0.0.0' });
    const status = await call<{ listening: boolean; lastError: string }>(t.ws, 'webhooks.status', {});
    expect(status.listening).toBe(false);
    expect(status.lastError).toMatch(/WEBHOOK_SECRET/);
    // Setting a secret from the UI lets it bind, without a restart of the app.
    const statuses: boolean[] = [];
    t.ws.events.subscribe((name, payload) => {
      if (name === 'webhooks.status') statuses.push((payload as { listening: boolean }).listening);
    });
    await call(t.ws, 'settings.update', { values: { WEBHOOK_SECRET: SECRET } });
    const deadline = Date.now() + 10_000;
    while (!statuses.includes(true) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(statuses).toContain(true);
    const after = await call<{ listening: boolean; url: string; authMode: string; lastError: string | null }>(
      t.ws,
      'webhooks.status',
      {},
    );
    // The refusal was the listener's state; once it listens, the status no longer shows it as the last error.
    expect(after).toMatchObject({ listening: true, authMode: 'secret', lastError: null });
  });

  it('the TradingView allowlist trusts X-Forwarded-For only from a loopback peer (a local tunnel)', async () => {
    t = await openTestWorkstation({ ...BASE_ENV, WEBHOOK_ALLOWLIST: '52.89.214.238,34.212.75.30/32' });
    const body = fixture('tradingview-plain.txt');
    const opts = (xff?: string) => ({
      contentType: 'text/plain',
      headers: (xff ? { 'x-forwarded-for': xff } : {}) as Record<string, string>,
    });
    expect((await post(t.ws, `/tradingview/${SECRET}`, body, opts('52.89.214.238'))).status).toBe(202);
    // The right-most entry is what the tunnel saw; a forged left-most entry does not help.
    expect((await post(t.ws, `/tradingview/${SECRET}`, `${body} 2`, opts('52.89.214.238, 203.0.113.9'))).status).toBe(403);
    expect((await post(t.ws, `/tradingview/${SECRET}`, `${body} 3`, opts('34.212.75.30'))).status).toBe(202);
    // No forwarding header: the peer itself (127.0.0.1) is not on the list.
    expect((await post(t.ws, `/tradingview/${SECRET}`, `${body} 4`, opts())).status).toBe(403);
  });

  it("WEBHOOK_ALLOWLIST=tradingview stands for TradingView's four published addresses, alongside other entries", async () => {
    const opened = await openTestWorkstation({ ...BASE_ENV, WEBHOOK_ALLOWLIST: 'TradingView, 10.1.0.0/16' });
    t = opened;
    expect(opened.ws.settings.get().WEBHOOK_ALLOWLIST).toEqual(['TradingView', '10.1.0.0/16']);
    const body = fixture('tradingview-plain.txt');
    const from = (xff: string, n: number) =>
      post(opened.ws, `/tradingview/${SECRET}`, `${body} ${n}`, {
        contentType: 'text/plain',
        headers: { 'x-forwarded-for': xff },
      });
    const senders = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7', '10.1.2.3', '52.89.214.239'];
    const statuses = [];
    for (const [i, ip] of senders.entries()) statuses.push((await from(ip, i)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 403]);
  });
});
