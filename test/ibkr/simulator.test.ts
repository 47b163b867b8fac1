/** The simulated IB Gateway seen by the bare @stoqey/ib client, plus its market calendar. */
import { EventName, IBApi, SecType } from '@stoqey/ib';
import { afterEach, describe, expect, it } from 'vitest';
import { earlyCloses, isTradingDay, marketHolidays, sessionBounds } from '../../core/calendar';
import { generateBars, IbGatewaySimulator } from '../../core/ibkr/simulator';
import { utc, waitFor } from './support';

let sim: IbGatewaySimulator | null = null;
let api: IBApi | null = null;
afterEach(async () => {
  api?.removeAllListeners();
  api?.disconnect();
  api = null;
  await sim?.stop();
  sim = null;
});

describe('IbGatewaySimulator with the bare @stoqey/ib client', () => {
  it('negotiates the version, sends accounts, next valid id and farm notices (as info)', async () => {
    sim = new IbGatewaySimulator({ accounts: ['DU9'], serverVersion: 187 });
    const port = await sim.start();
    api = new IBApi({ host: '127.0.0.1', port });
    const seen: { accounts?: string; nextId?: number; info: number[] } = { info: [] };
    api.on(EventName.managedAccounts, (a: string) => {
      seen.accounts = a;
    });
    api.on(EventName.nextValidId, (id: number) => {
      seen.nextId = id;
    });
    api.on(EventName.info, (_m: string, code: number) => seen.info.push(code));
    api.connect(3);
    await waitFor(() => seen.nextId !== undefined && seen.info.length === 3, 'the start-up messages');
    expect(api.serverVersion).toBe(187);
    expect(seen.accounts).toBe('DU9');
    expect(seen.info).toEqual([2104, 2106, 2158]);
    expect(sim.requestLog.map((r) => r.type)).toEqual(['handshake', 'startApi']);
    expect(sim.requestLog[1].clientId).toBe(3);
  });

  it('answers contract details and historical data, counting each request', async () => {
    sim = new IbGatewaySimulator({ latencyMs: 50 });
    const port = await sim.start();
    api = new IBApi({ host: '127.0.0.1', port });
    const got: { conId?: number; done: boolean; bars: string[] } = { done: false, bars: [] };
    api.on(EventName.contractDetails, (_id: number, d: { contract: { conId?: number } }) => {
      got.conId = d.contract.conId;
    });
    api.on(EventName.historicalData, (_id: number, time: string) => {
      if (time.startsWith('finished')) got.done = true;
      else got.bars.push(time);
    });
    api.on(EventName.nextValidId, () => {
      const contract = { symbol: 'MSFT', secType: SecType.STK, exchange: 'SMART', primaryExch: 'NASDAQ', currency: 'USD' };
      api!.reqContractDetails(1, contract);
      api!.reqHistoricalData(
        2,
        contract,
        '20260110 00:00:00 US/Eastern',
        '1 W',
        '1 day' as never,
        'TRADES' as never,
        1,
        2,
        false,
      );
    });
    const started = Date.now();
    api.connect(4);
    await waitFor(() => got.done && got.conId !== undefined, 'both answers');
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(got.bars).toEqual(['20260105', '20260106', '20260107', '20260108', '20260109']);
    expect(sim.stats).toMatchObject({ contractRequests: 1, historicalRequests: 1, barsSent: 5 });
    expect(sim.historicalRequests('MSFT')[0]).toMatchObject({
      barSize: '1 day',
      duration: '1 W',
      end: '20260110 00:00:00 US/Eastern',
      useRTH: true,
    });
    sim.resetStats();
    expect(sim.stats.historicalRequests).toBe(0);
    expect(sim.requestLog).toEqual([]);
  });

  it('refuses an end time without a zone it understands (10314)', async () => {
    sim = new IbGatewaySimulator();
    const port = await sim.start();
    api = new IBApi({ host: '127.0.0.1', port });
    const errors: number[] = [];
    api.on(EventName.error, (_e: Error, code: number) => errors.push(code));
    api.on(EventName.nextValidId, () => {
      const contract = { symbol: 'MSFT', secType: SecType.STK, exchange: 'SMART', currency: 'USD' };
      api!.reqHistoricalData(
        7,
        contract,
        '20260110 00:00:00 Mars/Olympus',
        '1 W',
        '1 day' as never,
        'TRADES' as never,
        1,
        2,
        false,
      );
    });
    api.connect(5);
    await waitFor(() => errors.length > 0, 'the error');
    expect(errors).toEqual([10314]);
  });

  it('closes client connections on stop', async () => {
    sim = new IbGatewaySimulator();
    const port = await sim.start();
    api = new IBApi({ host: '127.0.0.1', port });
    let disconnected = false;
    api.on(EventName.disconnected, () => {
      disconnected = true;
    });
    let ready = false;
    api.on(EventName.nextValidId, () => {
      ready = true;
    });
    api.connect(6);
    await waitFor(() => ready, 'the connection');
    await sim.stop();
    sim = null;
    await waitFor(() => disconnected, 'the client to notice');
    expect(disconnected).toBe(true);
  });
});

describe('the simulated market calendar', () => {
  it("knows NYSE's 2026 holidays, including observed ones", () => {
    const days = [...marketHolidays(2026)].map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10)).sort();
    expect(days).toEqual([
      '2026-01-01',
      '2026-01-19',
      '2026-02-16',
      '2026-04-03',
      '2026-05-25',
      '2026-06-19',
      '2026-07-03',
      '2026-09-07',
      '2026-11-26',
      '2026-12-25',
    ]);
    expect(isTradingDay(utc(2026, 7, 3) / 86_400_000)).toBe(false);
    expect(isTradingDay(utc(2026, 7, 6) / 86_400_000)).toBe(true);
  });

  it("knows NYSE's early closes (13:00 New York) and shortens those sessions", () => {
    const dates = (year: number) => [...earlyCloses(year)].map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10)).sort();
    expect(dates(2024)).toEqual(['2024-07-03', '2024-11-29', '2024-12-24']);
    expect(dates(2025)).toEqual(['2025-07-03', '2025-11-28', '2025-12-24']);
    // July 4 on a Saturday (observed Friday the 3rd): no early close that week.
    expect(dates(2026)).toEqual(['2026-11-27', '2026-12-24']);
    // Christmas on a Saturday is observed on Friday the 24th: a holiday, not an early close.
    expect(dates(2021)).toEqual(['2021-11-26']);
    const day = utc(2026, 11, 27) / 86_400_000;
    expect(new Date(sessionBounds(day, true).close).toISOString()).toBe('2026-11-27T18:00:00.000Z');
    expect(new Date(sessionBounds(day, false).close).toISOString()).toBe('2026-11-27T22:00:00.000Z');
    expect(new Date(sessionBounds(day + 3, true).close).toISOString()).toBe('2026-11-30T21:00:00.000Z');
    const bars = generateBars('NVDA', '1 min', utc(2026, 11, 27), utc(2026, 11, 28), { useRTH: true });
    expect(bars).toHaveLength(210);
    expect(new Date(bars.at(-1)!.ts).toISOString()).toBe('2026-11-27T17:59:00.000Z');
  });

  it('generates extended-hours bars from 04:00 to 20:00 New York when not limited to RTH', () => {
    const bars = generateBars('NVDA', '1 hour', utc(2026, 1, 6, 5), utc(2026, 1, 7, 5), { useRTH: false });
    expect(bars).toHaveLength(16);
    expect(new Date(bars[0].ts).toISOString()).toBe('2026-01-06T09:00:00.000Z');
    expect(new Date(bars.at(-1)!.ts).toISOString()).toBe('2026-01-07T00:00:00.000Z');
    const rth = generateBars('NVDA', '1 hour', utc(2026, 1, 6, 5), utc(2026, 1, 7, 5), { useRTH: true });
    expect(rth.map((b) => new Date(b.ts).toISOString().slice(11, 16))).toEqual([
      '14:30',
      '15:00',
      '16:00',
      '17:00',
      '18:00',
      '19:00',
      '20:00',
    ]);
  });
});
