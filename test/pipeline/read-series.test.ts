import { afterEach, describe, expect, it } from 'vitest';
import { marketdataWarehouseMigrations } from '../../core/marketdata/schema';
import { warehouseMigrations as pipelineWarehouseMigrations, readSeries } from '../../core/pipeline';
import { Warehouse } from '../../core/storage/warehouse';
import { removeDir, tempDir } from '../support/temp';

const SEL = { exchange: 'NASDAQ', dataType: 'TRADES' as const, barSize: '1 min' as const, useRTH: true };
const T0 = Date.UTC(2025, 5, 2, 13, 30);
const ALL = { from: 0, to: Date.UTC(2030, 0, 1) };

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function openWarehouse(): Promise<Warehouse> {
  const dir = tempDir('marketdesk-read-series-');
  const wh = await Warehouse.open(`${dir}/market.duckdb`);
  cleanup.push(async () => {
    await wh.close();
    removeDir(dir);
  });
  await wh.migrate([...marketdataWarehouseMigrations, ...pipelineWarehouseMigrations]);
  return wh;
}

/** Bars i in [from, to) of `symbol`, inserted in the order `orderBy` gives; close = 100 + i. */
async function insertBars(wh: Warehouse, symbol: string, from: number, to: number, orderBy = 'i'): Promise<void> {
  await wh.run(`
    INSERT INTO bars
    SELECT '${symbol}', 'NASDAQ', 'TRADES', '1 min', true, make_timestamp((${T0} + i * 60000)::BIGINT * 1000),
           100 + i, 101 + i, 99 + i, 100 + i, 1000, NULL, NULL, NULL, 'test', TIMESTAMP '2025-06-03', 'seed'
      FROM range(${from}, ${to}) r(i) ORDER BY ${orderBy}`);
}

function expectSeries(got: Map<string, { ts: Float64Array; close: Float64Array }>, want: Record<string, number>) {
  expect([...got.keys()]).toEqual(Object.keys(want).sort());
  for (const [symbol, n] of Object.entries(want)) {
    const bars = got.get(symbol);
    expect(bars?.ts.length, symbol).toBe(n);
    expect(Array.from(bars?.close ?? []), symbol).toEqual(Array.from({ length: n }, (_, i) => 100 + i));
    expect(Array.from(bars?.ts ?? []), symbol).toEqual(Array.from({ length: n }, (_, i) => T0 + i * 60_000));
  }
}

describe('readSeries: every symbol in ts order, whatever order the warehouse stores the bars in', () => {
  it('reads series stored one after the other (as the cache writes them), by symbol and in ts order', async () => {
    const wh = await openWarehouse();
    await insertBars(wh, 'BBB', 0, 3000);
    await insertBars(wh, 'AAA', 0, 2000);
    expectSeries(await readSeries(wh, ['BBB', 'AAA', 'ZZZ', 'AAA'], SEL, ALL), { AAA: 2000, BBB: 3000 });
  });

  it('regroups symbols whose fetches interleave in storage', async () => {
    const wh = await openWarehouse();
    await insertBars(wh, 'AAA', 0, 1000);
    await insertBars(wh, 'BBB', 0, 1500);
    await insertBars(wh, 'AAA', 1000, 2500);
    await insertBars(wh, 'BBB', 1500, 1600);
    expectSeries(await readSeries(wh, ['AAA', 'BBB'], SEL, ALL), { AAA: 2500, BBB: 1600 });
  });

  it('sorts a back-filled range and rows stored out of order', async () => {
    const wh = await openWarehouse();
    await insertBars(wh, 'AAA', 1000, 2000);
    await insertBars(wh, 'AAA', 0, 1000); // an older range fetched later
    await insertBars(wh, 'BBB', 0, 2000, 'hash(i)');
    expectSeries(await readSeries(wh, ['AAA', 'BBB'], SEL, ALL), { AAA: 2000, BBB: 2000 });
    // Only the requested range.
    const part = await readSeries(wh, ['AAA'], SEL, { from: T0 + 10 * 60_000, to: T0 + 20 * 60_000 });
    expect(Array.from(part.get('AAA')?.close ?? [])).toEqual(Array.from({ length: 10 }, (_, i) => 110 + i));
  });
});
