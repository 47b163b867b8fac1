/** The column reader turns DuckDB results into Float64Arrays without building a row object. */
import { afterEach, describe, expect, it } from 'vitest';
import { readFloat64Columns } from '../../core/marketdata';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

let t: TestWorkstation | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe('readFloat64Columns', () => {
  it('reads many chunks of DOUBLEs in order, NULL as NaN, and converts other numeric types', async () => {
    t = await openTestWorkstation({}, { start: false });
    const conn = t.ws.stores.warehouse.connection;
    const cols = await readFloat64Columns(
      conn,
      `SELECT i::DOUBLE * 0.5, CASE WHEN i % 1000 = 0 THEN NULL ELSE i::DOUBLE END, i::BIGINT * 3, i::INTEGER
         FROM range(10000) t(i) ORDER BY i`,
      [],
      ['half', 'gappy', 'big', 'int'] as const,
    );
    expect(cols.rowCount).toBe(10_000);
    expect(cols.half).toBeInstanceOf(Float64Array);
    expect(cols.half[9999]).toBe(4999.5);
    expect(cols.half[2048]).toBe(1024);
    expect(Number.isNaN(cols.gappy[0])).toBe(true);
    expect(Number.isNaN(cols.gappy[5000])).toBe(true);
    expect(cols.gappy[5001]).toBe(5001);
    expect(cols.big[7]).toBe(21);
    expect(cols.int[9999]).toBe(9999);
  });

  it('returns empty columns for an empty result and refuses a column-count mismatch', async () => {
    t = await openTestWorkstation({}, { start: false });
    const conn = t.ws.stores.warehouse.connection;
    const empty = await readFloat64Columns(conn, 'SELECT 1.0::DOUBLE WHERE false', [], ['x'] as const);
    expect(empty.rowCount).toBe(0);
    expect(empty.x.length).toBe(0);
    await expect(readFloat64Columns(conn, 'SELECT 1.0::DOUBLE, 2.0::DOUBLE', [], ['x'] as const)).rejects.toThrow(
      /expected 1 columns/,
    );
  });
});
