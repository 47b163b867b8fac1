/**
 * Integrity for the other sources: daily bars spot-checked against the (simulated) IBKR gateway,
 * bar anomalies, and option trades stored twice under different ids.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

let t: TestWorkstation | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe('integrity of bars, option trades and alerts', () => {
  it('daily bars match the gateway in a spot check until someone edits them; broken OHLC fails', async () => {
    t = await openTestWorkstation({ WEBHOOK_PORT: '0', BACKUP_SCHEDULE: '' }, { demo: true });
    await t.ws.barCache.getOrFetch('NVDA', Date.UTC(2025, 11, 1), Date.UTC(2025, 11, 4), '1 day');
    const [{ n }] = await t.ws.stores.warehouse.rows<{ n: number }>(
      "SELECT count(*)::INTEGER AS n FROM bars WHERE bar_size = '1 day'",
    );
    expect(n).toBe(3);

    const clean = await t.ws.imports.integrity.run({ sources: ['bars'] });
    const spot = () => clean.findings.find((f) => f.check === 'spot check vs source');
    expect(spot()).toMatchObject({ status: 'pass', message: '3 sampled bars match the source' });
    expect(clean.status).toBe('pass');

    await t.ws.stores.warehouse.run("UPDATE bars SET close = close * 1.1, high = high * 1.1 WHERE bar_size = '1 day'");
    await t.ws.stores.warehouse.run("UPDATE bars SET low = high + 1 WHERE ts = TIMESTAMP '2025-12-02 00:00:00'");
    const edited = await t.ws.imports.integrity.run({ sources: ['bars'] });
    expect(edited.status).toBe('fail');
    const mismatch = edited.findings.find((f) => f.check === 'spot check vs source');
    expect(mismatch).toMatchObject({ status: 'fail', count: 3 });
    expect(mismatch?.rows[0]).toMatchObject({ symbol: 'NVDA', problem: 'values differ' });
    expect(edited.findings.find((f) => f.check === 'zero or negative values')).toMatchObject({ status: 'fail', count: 1 });
  });

  it('the spot check finds the daily bars among thousands of intraday ones', async () => {
    t = await openTestWorkstation({ WEBHOOK_PORT: '0', BACKUP_SCHEDULE: '' }, { demo: true });
    await t.ws.barCache.getOrFetch('NVDA', Date.UTC(2025, 11, 1), Date.UTC(2025, 11, 4), '1 day');
    await t.ws.barCache.getOrFetch('NVDA', Date.UTC(2025, 10, 3), Date.UTC(2025, 11, 4), '1 min');
    const [{ n }] = await t.ws.stores.warehouse.rows<{ n: number }>(
      "SELECT count(*)::INTEGER AS n FROM bars WHERE bar_size = '1 min'",
    );
    expect(n).toBeGreaterThan(5_000);
    for (let i = 0; i < 3; i++) {
      const report = await t.ws.imports.integrity.run({ sources: ['bars'] });
      expect(report.findings.find((f) => f.check === 'spot check vs source')).toMatchObject({
        status: 'pass',
        message: '3 sampled bars match the source',
      });
    }
  });

  it('an option trade stored under two ids and a non-positive price are reported; alerts without rows pass', async () => {
    t = await openTestWorkstation({ WEBHOOK_PORT: '0', BACKUP_SCHEDULE: '' });
    const w = t.ws.stores.warehouse;
    const insert = (id: string, price: number) =>
      w.run(
        `INSERT INTO option_trades (id, event_id, source, ticker, option_symbol, strike, executed_at, price, size, underlying_price)
         VALUES ($1, 1, 'uw', 'TSLA', 'TSLA260116C00400000', 400, TIMESTAMP '2026-01-05 15:00:00', $2, 10, 410)`,
        [id, price],
      );
    await insert('a', 5.2);
    await insert('b', 5.2);
    await insert('c', 0);
    const report = await t.ws.imports.integrity.run({ sources: ['option_trades', 'alerts'] });
    const trades = report.findings.filter((f) => f.source === 'option_trades');
    expect(trades.find((f) => f.check === 'duplicates')).toMatchObject({ status: 'warn', count: 1 });
    expect(trades.find((f) => f.check === 'zero or negative values')).toMatchObject({ status: 'fail', count: 1 });
    expect(report.findings.filter((f) => f.source === 'alerts').every((f) => f.status === 'pass')).toBe(true);
    expect(report.status).toBe('fail');
  });
});
