import { afterEach, describe, expect, it } from 'vitest';
import { createDashboard } from '../../core/dashboard';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

let opened: TestWorkstation | undefined;
afterEach(async () => {
  await opened?.dispose();
  opened = undefined;
});

describe('the dashboard summary', () => {
  it('on a fresh install with no gateway reachable, asks for the first-run guide and measures the data folder', async () => {
    opened = await openTestWorkstation({ IB_PORT: '1', WEBHOOK_PORT: '0' });
    const res = await opened.ws.dispatcher.call('dashboard.summary', {});
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const s = res.result as {
      firstRun: boolean;
      ibkr: { available: boolean; connected: boolean; port: number };
      cache: { available: boolean; rows: number | null };
      scheduler: { schedule: string; nextRunAt: string | null };
      disk: { dataDir: string; usedBytes: number; freeBytes: number | null; parts: { name: string; bytes: number }[] };
      actions: Record<string, string | null>;
    };
    expect(s.firstRun).toBe(true);
    expect(s.ibkr).toMatchObject({ available: true, connected: false, port: 1 });
    expect(s.cache).toMatchObject({ available: true, rows: 0 });
    expect(s.scheduler.schedule).toBe('0 9 * * 1-5');
    expect(s.disk.dataDir).toBe(opened.dataDir);
    expect(s.disk.parts.map((p) => p.name)).toEqual(expect.arrayContaining(['journal.sqlite', 'market.duckdb']));
    expect(s.disk.usedBytes).toBe(s.disk.parts.reduce((a, p) => a + p.bytes, 0));
    expect(s.disk.freeBytes).toBeGreaterThan(0);
    expect(s.actions).toMatchObject({ refreshCache: 'cache.refresh', runNow: 'runs.trigger', reconnect: 'ibkr.reconnect' });
  });

  it('a workstation without those capabilities still gets a summary, with each card marked not available', async () => {
    opened = await openTestWorkstation({ WEBHOOK_PORT: '0' });
    const ws = opened.ws;
    const asked: string[] = [];
    const dashboard = createDashboard({
      settings: () => ws.settings.get(),
      demo: false,
      dataDir: () => ws.dataDir,
      has: () => false,
      call: async (method) => {
        asked.push(method);
        return { ok: false, error: { code: 'unknown_method', status: 404, message: method } };
      },
    });
    const s = await dashboard.summary();
    expect(asked).toEqual([]);
    expect([s.ibkr.available, s.webhooks.available, s.scheduler.available, s.cache.available]).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(s.ibkr).toMatchObject({ status: 'not available', host: '127.0.0.1', port: 4002 });
    expect(s.actions).toEqual({ reconnect: null, refreshCache: null, runNow: null, pauseScheduler: null, resumeScheduler: null });
    expect(s.disk.usedBytes).toBeGreaterThan(0);
  });

  it('a gateway that reported 1100 is connected but degraded, and an error from before the connection is history', async () => {
    opened = await openTestWorkstation({ WEBHOOK_PORT: '0' });
    const ws = opened.ws;
    let status: Record<string, unknown> = {
      state: 'connected',
      connected: true,
      offline: false,
      connectivityLost: true,
      lastNotice: { code: 1100, message: 'Connectivity between IB and TWS has been lost.', at: '2025-03-03T14:02:00.000Z' },
      lastError: {
        code: null,
        message: 'Cannot reach IB Gateway / TWS at 127.0.0.1:4002 (ECONNREFUSED)',
        at: '2025-03-03T08:00:00.000Z',
      },
    };
    const dashboard = createDashboard({
      settings: () => ws.settings.get(),
      demo: false,
      dataDir: () => ws.dataDir,
      has: (method) => method === 'ibkr.status',
      call: async () => ({ ok: true, result: status }),
    });
    expect((await dashboard.summary()).ibkr).toMatchObject({
      status: 'connected',
      connected: true,
      connectivityLost: true,
      lastNotice: { code: 1100, at: '2025-03-03T14:02:00.000Z' },
      lastError: 'Cannot reach IB Gateway / TWS at 127.0.0.1:4002 (ECONNREFUSED)',
      lastErrorAt: '2025-03-03T08:00:00.000Z',
      lastErrorCurrent: false,
    });

    // Disconnected, the same error is the current problem, and "link lost" no longer applies.
    status = { ...status, state: 'disconnected', connected: false };
    expect((await dashboard.summary()).ibkr).toMatchObject({ connected: false, connectivityLost: false, lastErrorCurrent: true });

    // Offline on purpose (debug mode): the old error is history too.
    status = { ...status, offline: true };
    expect((await dashboard.summary()).ibkr).toMatchObject({ status: 'offline (debug mode)', lastErrorCurrent: false });
  });
});
