/**
 * The IBKR service inside a real workstation: `serve --demo` connects to the built-in simulator,
 * a gateway that is down never crashes start-up, and DEBUG_MODE keeps IBKR offline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IbkrError } from '../../core/ibkr';
import { IbGatewaySimulator } from '../../core/ibkr/simulator';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { utc, waitFor } from './support';

let t: TestWorkstation | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

describe('the workstation and IBKR', () => {
  it('in demo mode starts the simulated gateway and reports connected', async () => {
    const events: { name: string; payload: unknown }[] = [];
    t = await openTestWorkstation({}, { demo: true, start: false });
    t.ws.events.subscribe((name, payload) => events.push({ name, payload }));
    await t.ws.start();

    expect(t.ws.ibkr.status()).toMatchObject({ state: 'connected', connected: true, mode: 'demo', host: '127.0.0.1' });
    const result = await t.ws.dispatcher.call('ibkr.status', {});
    expect(result.ok).toBe(true);
    expect(result.ok && result.result).toMatchObject({ state: 'connected', serverVersion: 193, accounts: ['DU0000001'] });
    expect(events.some((e) => e.name === 'ibkr.status' && (e.payload as { state: string }).state === 'connected')).toBe(true);

    const bars = await t.ws.historicalSource.fetchBars({
      symbol: 'NVDA',
      exchange: 'NASDAQ',
      barSize: '1 day',
      whatToShow: 'TRADES',
      useRTH: true,
      start: utc(2026, 1, 5),
      end: utc(2026, 1, 10),
    });
    expect(bars).toHaveLength(5);
    expect(t.ws.ibkrSimulator?.historicalRequests('NVDA')).toHaveLength(1);
    expect((await t.ws.ibkr.health()).ok).toBe(true);
  });

  it('reconnects on request through the contract', async () => {
    t = await openTestWorkstation({}, { demo: true });
    const result = await t.ws.dispatcher.call('ibkr.reconnect', {});
    expect(result.ok).toBe(true);
    await t.ws.ibkr.waitForConnected(5_000);
    expect(t.ws.ibkr.status().state).toBe('connected');
  });

  it('starts even when the gateway is down, showing why and retrying', async () => {
    const sim = new IbGatewaySimulator();
    const port = await sim.start();
    await sim.stop();
    t = await openTestWorkstation({ IB_PORT: String(port), IB_CLIENT_ID: '5' });
    await waitFor(() => t!.ws.ibkr.status().lastError !== null, 'the connection error');
    const status = t.ws.ibkr.status();
    expect(status.state).not.toBe('connected');
    expect(status.lastError?.message).toMatch(new RegExp(`Cannot reach IB Gateway / TWS at 127.0.0.1:${port}`));
    expect(status.mode).toBe('live');
    const health = await t.ws.ibkr.health();
    expect(health.ok).toBe(false);
  });

  it('stays offline when started in DEBUG_MODE', async () => {
    t = await openTestWorkstation({ DEBUG_MODE: 'true' }, { demo: true });
    expect(t.ws.ibkr.status()).toMatchObject({ state: 'disconnected', offline: true, lastError: null });
    const err = await t.ws.historicalSource
      .fetchBars({
        symbol: 'NVDA',
        exchange: 'NASDAQ',
        barSize: '1 day',
        whatToShow: 'TRADES',
        useRTH: true,
        start: utc(2026, 1, 5),
        end: utc(2026, 1, 10),
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(IbkrError);
    expect(err.code).toBe('IBKR_OFFLINE');
    const refused = await t.ws.dispatcher.call('ibkr.reconnect', {});
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.code).toBe('IBKR_OFFLINE');
  });

  it('goes offline when DEBUG_MODE is switched on and connects again when it is switched off', async () => {
    t = await openTestWorkstation({}, { demo: true });
    expect(t.ws.ibkr.connected).toBe(true);
    t.ws.settings.update({ DEBUG_MODE: true });
    await waitFor(() => t!.ws.ibkr.status().offline, 'offline');
    expect(t.ws.ibkr.status().state).toBe('disconnected');
    t.ws.settings.update({ DEBUG_MODE: false });
    await t.ws.ibkr.waitForConnected(5_000);
    expect(t.ws.ibkr.status()).toMatchObject({ state: 'connected', offline: false });
  });
});
