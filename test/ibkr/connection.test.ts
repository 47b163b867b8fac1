/**
 * The IBKR connection, driven through the real @stoqey/ib client against the simulated gateway:
 * handshake, contract resolution, client id in use, handshake timeout, drops mid-request, notices.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IbkrConnection, IbkrError, type IbkrStatus } from '../../core/ibkr';
import { IbGatewaySimulator } from '../../core/ibkr/simulator';
import { type Rig, startRig, waitFor } from './support';

let rig: Rig | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
});

describe('connecting to the gateway', () => {
  it('completes the handshake and reports server version and accounts', async () => {
    rig = await startRig({ accounts: ['DU111', 'DU222'] });
    const status = rig.conn.status();
    expect(status.state).toBe('connected');
    expect(status.connected).toBe(true);
    expect(status.serverVersion).toBe(193);
    expect(status.accounts).toEqual(['DU111', 'DU222']);
    expect(status.clientId).toBe(17);
    expect(rig.sim.stats.activeConnections).toBe(1);
    const health = await rig.conn.health();
    expect(health.ok).toBe(true);
    expect(rig.sim.stats.currentTimeRequests).toBe(1);
  });

  it('negotiates down to an older server version', async () => {
    rig = await startRig({ serverVersion: 150 });
    expect(rig.conn.status().serverVersion).toBe(150);
    const contract = await rig.conn.resolveContract('AAPL', 'NASDAQ');
    expect(contract.symbol).toBe('AAPL');
  });

  it('tries the next client id when the configured one is in use (326)', async () => {
    rig = await startRig({ clientIdInUse: [17, 18] });
    const status = rig.conn.status();
    expect(status.state).toBe('connected');
    expect(status.clientId).toBe(19);
    expect(status.configuredClientId).toBe(17);
    expect(rig.sim.requestLog.filter((r) => r.type === 'startApi').map((r) => r.clientId)).toEqual([17, 18, 19]);
  });

  it('when every client id it tries is taken, says which ones and what to do', async () => {
    rig = await startRig({ clientIdInUse: [17, 18] }, { clientIdAttempts: 2 }, {}, { connect: false });
    rig.conn.start();
    await waitFor(() => /Client ids 17–18 are all in use/.test(rig?.conn.status().lastError?.message ?? ''), 'the 326 refusal');
    expect(rig.conn.status().lastError).toMatchObject({
      code: 326,
      message: expect.stringMatching(/set IB_CLIENT_ID to a free one/),
    });
  });

  it('gives up the handshake with a clear error when NEXT_VALID_ID never comes, and keeps retrying', async () => {
    rig = await startRig({ neverSendNextValidId: true }, { handshakeTimeoutMs: 300 }, {}, { connect: false });
    const errors: IbkrStatus[] = [];
    rig.conn.onStatus((s) => {
      if (s.lastError) errors.push(s);
    });
    rig.conn.start();
    await waitFor(() => errors.length > 0, 'a handshake error');
    expect(errors[0].lastError?.message).toMatch(/did not finish the API handshake \(no NEXT_VALID_ID\)/);
    expect(rig.conn.connected).toBe(false);
    await waitFor(() => rig!.sim.stats.connections >= 2, 'a second attempt');
    // Once the gateway behaves, the reconnect loop gets through.
    rig.sim.set({ neverSendNextValidId: false });
    await rig.conn.waitForConnected(5_000);
    expect(rig.conn.status().state).toBe('connected');
  });

  it('reports a gateway that is down as disconnected with the reason, and requests fail fast', async () => {
    const sim = new IbGatewaySimulator();
    const port = await sim.start();
    await sim.stop(); // nothing listens on that port any more
    const conn = new IbkrConnection({ host: '127.0.0.1', port, clientId: 1, reconnect: { baseMs: 5_000, maxMs: 5_000 } });
    conn.start();
    try {
      await waitFor(() => conn.status().state === 'disconnected' && conn.status().lastError !== null, 'the failed attempt');
      expect(conn.status().lastError?.message).toMatch(/Cannot reach IB Gateway/);
      expect(conn.status().nextRetryAt).not.toBeNull();
      const err = await conn.resolveContract('NVDA', 'NASDAQ').catch((e) => e);
      expect(err).toBeInstanceOf(IbkrError);
      expect(err.code).toBe('IBKR_NOT_CONNECTED');
      expect(err.message).toContain(`127.0.0.1:${port}`);
    } finally {
      await conn.stop();
    }
  });
});

describe('a request while the connection backs off', () => {
  it("tries the gateway again at once instead of failing with the last attempt's error", async () => {
    const down = new IbGatewaySimulator();
    const port = await down.start();
    await down.stop();
    // A minute between attempts: only the request can explain a reconnect within the test.
    const conn = new IbkrConnection({ host: '127.0.0.1', port, clientId: 1, reconnect: { baseMs: 60_000, maxMs: 60_000 } });
    conn.start();
    const back = new IbGatewaySimulator({ port });
    try {
      await waitFor(() => conn.status().state === 'disconnected' && conn.status().nextRetryAt !== null, 'the backoff');
      await back.start();
      const contract = await conn.resolveContract('NVDA', 'NASDAQ', 'USD', { timeoutMs: 5_000 });
      expect(contract.symbol).toBe('NVDA');
      expect(conn.status().state).toBe('connected');
    } finally {
      await conn.stop();
      await back.stop();
    }
  });
});

describe('requests around connecting and stopping', () => {
  it('lets a request made while connecting wait for the handshake', async () => {
    rig = await startRig({}, {}, {}, { connect: false });
    rig.conn.start();
    expect(rig.conn.status().state).toBe('connecting');
    const contract = await rig.conn.resolveContract('AMD', 'NASDAQ');
    expect(contract.symbol).toBe('AMD');
  });

  it('rejects requests in flight when stopped, and refuses new ones', async () => {
    rig = await startRig({ latencyMs: 500 });
    const pending = rig.conn.resolveContract('AMD', 'NASDAQ').catch((e) => e);
    await waitFor(() => rig!.sim.stats.contractRequests === 1, 'the request to arrive');
    await rig.conn.stop('test over');
    const err = await pending;
    expect(err.code).toBe('IBKR_NOT_CONNECTED');
    expect(err.message).toMatch(/test over/);
    expect((await rig.conn.resolveContract('AMD', 'NASDAQ').catch((e) => e)).code).toBe('IBKR_NOT_CONNECTED');
  });

  it('stops waiting for a reconnect when the caller cancels (a fetch cut off by a drop, then cancelled)', async () => {
    rig = await startRig();
    await rig.conn.stop('gateway gone');
    const cancel = new AbortController();
    const waiting = rig.conn.waitForConnected(30_000, cancel.signal).catch((e) => e);
    cancel.abort(new Error('trader cancelled'));
    const err = await waiting;
    expect(err).toBeInstanceOf(IbkrError);
    expect(err.code).toBe('IBKR_ABORTED');
    expect(err.message).toMatch(/trader cancelled/); // not the 30 s timeout's NOT_CONNECTED
  });
});

describe('contracts', () => {
  it('resolves a stock on SMART with its primary exchange, once per session', async () => {
    rig = await startRig();
    const a = await rig.conn.resolveContract('nvda', 'NASDAQ');
    expect(a).toMatchObject({ symbol: 'NVDA', secType: 'STK', exchange: 'SMART', primaryExch: 'NASDAQ', currency: 'USD' });
    expect(a.conId).toBeGreaterThan(0);
    const b = await rig.conn.resolveContract('NVDA', 'NASDAQ');
    expect(b).toEqual(a);
    expect(rig.sim.stats.contractRequests).toBe(1);
  });

  it('names the unknown symbol (IBKR 200)', async () => {
    rig = await startRig({ unknownSymbols: ['NOSUCH'] });
    const err = await rig.conn.resolveContract('NOSUCH', 'NASDAQ').catch((e) => e);
    expect(err).toBeInstanceOf(IbkrError);
    expect(err.code).toBe('IBKR_UNKNOWN_SYMBOL');
    expect(err.ibkrCode).toBe(200);
    // About the request, not the gateway: a 4xx over the API.
    expect(err.status).toBe(404);
    expect(err.message).toMatch(/Unknown symbol NOSUCH on NASDAQ/);
    // A failed resolution is not cached.
    await rig.conn.resolveContract('NOSUCH', 'NASDAQ').catch(() => undefined);
    expect(rig.sim.stats.contractRequests).toBe(2);
  });
});

describe('faults while connected', () => {
  it('rejects a request in flight when the connection drops (no hang), then reconnects', async () => {
    rig = await startRig({ latencyMs: 200 });
    const contract = await rig.conn.resolveContract('NVDA', 'NASDAQ');
    rig.sim.set({ dropConnectionOnRequest: true });
    const started = Date.now();
    const err = await rig.conn
      .historicalBars(contract, {
        endDateTime: '20260106-00:00:00',
        durationStr: '5 D',
        barSize: '1 day',
        whatToShow: 'TRADES',
        useRTH: true,
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(IbkrError);
    expect(err.code).toBe('IBKR_DISCONNECTED');
    expect(err.message).toMatch(/lost while the request was in flight/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(rig.conn.inFlight).toBe(0);
    await rig.conn.waitForConnected(5_000);
    expect(rig.sim.stats.connections).toBe(2);
    const bars = await rig.conn.historicalBars(contract, {
      endDateTime: '20260106-00:00:00',
      durationStr: '5 D',
      barSize: '1 day',
      whatToShow: 'TRADES',
      useRTH: true,
    });
    expect(bars.length).toBeGreaterThan(0);
  });

  it('times out a request the gateway never answers and cancels it on the wire', async () => {
    rig = await startRig({ latencyMs: 700 }, { requestTimeoutMs: 200 });
    const contract = await rig.conn.resolveContract('NVDA', 'NASDAQ', 'USD', { timeoutMs: 5_000 });
    const err = await rig.conn
      .historicalBars(contract, {
        endDateTime: '20260106-00:00:00',
        durationStr: '5 D',
        barSize: '1 day',
        whatToShow: 'TRADES',
        useRTH: true,
      })
      .catch((e) => e);
    expect(err.code).toBe('IBKR_TIMEOUT');
    expect(err.message).toMatch(/no answer from IB Gateway within 0.2 s/);
    await waitFor(() => rig!.sim.stats.cancels === 1, 'the cancel message');
  });

  it('lets 1100 / 1102 connectivity notices drive the status', async () => {
    rig = await startRig();
    const seen: boolean[] = [];
    rig.conn.onStatus((s) => seen.push(s.connectivityLost));
    rig.sim.sendConnectivityNotice(1100);
    await waitFor(() => rig!.conn.status().connectivityLost, 'connectivity lost');
    expect(rig.conn.status().lastNotice?.code).toBe(1100);
    expect((await rig.conn.health()).ok).toBe(false);
    rig.sim.sendConnectivityNotice(1102);
    await waitFor(() => !rig!.conn.status().connectivityLost, 'connectivity restored');
    expect(rig.conn.status().lastNotice).toMatchObject({ code: 1102, message: expect.stringMatching(/data maintained/) });
    expect(rig.conn.status().state).toBe('connected');
    expect(seen).toContain(true);
  });

  it('reconnects on request with a fresh session', async () => {
    rig = await startRig();
    rig.conn.reconnect();
    await waitFor(() => rig!.sim.stats.connections >= 2 && rig!.conn.connected, 'the new session');
    expect(rig.sim.stats.activeConnections).toBe(1);
  });
});
