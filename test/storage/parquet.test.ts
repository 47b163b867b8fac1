import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeParquet } from '../../core/storage/parquet';
import { removeDir, tempDir } from '../support/temp';

let dir = '';
afterEach(() => {
  if (dir) removeDir(dir);
  dir = '';
});

async function query(file: string, sql: string) {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql.replaceAll('$file', `'${file}'`))).getRowObjectsJS();
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

describe('encodeParquet: PLAIN, uncompressed columns from typed arrays', () => {
  it('writes a file DuckDB reads back value for value, split into row groups with ts statistics', async () => {
    dir = tempDir('marketdesk-parquet-');
    const n = (1 << 20) + 1000; // two row groups
    const id = new Int32Array(n);
    const ts = new BigInt64Array(n);
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      id[i] = i % 7 === 0 ? -3 : i;
      ts[i] = BigInt(1_735_000_000_000_000 + i * 60_000_000);
      x[i] = i % 10 === 0 ? Number.NaN : i / 3;
    }
    const file = join(dir, 'a.parquet');
    writeFileSync(
      file,
      Buffer.concat(
        encodeParquet([
          { name: 'id', type: 'int32', values: id },
          { name: 'ts', type: 'timestamp_us', values: ts },
          { name: 'x', type: 'double', values: x },
        ]),
      ),
    );

    const [summary] = await query(
      file,
      `SELECT count(*)::INTEGER AS n, typeof(any_value(ts)) AS ts_type, sum(id)::DOUBLE AS ids,
              min(ts)::VARCHAR AS first, max(ts)::VARCHAR AS last, count(*) FILTER (WHERE isnan(x))::INTEGER AS nans,
              sum(x) FILTER (WHERE NOT isnan(x)) AS xs
         FROM read_parquet($file)`,
    );
    let ids = 0;
    let xs = 0;
    for (let i = 0; i < n; i++) {
      ids += id[i];
      if (!Number.isNaN(x[i])) xs += x[i];
    }
    expect(summary).toMatchObject({ n, ts_type: 'TIMESTAMP', ids, nans: Math.ceil(n / 10) });
    expect(summary.first).toBe('2024-12-24 00:26:40');
    expect(summary.xs as number).toBeCloseTo(xs, 0);
    // Spot values, exactly.
    const rows = await query(file, 'SELECT id, epoch_us(ts) AS us, x FROM read_parquet($file) LIMIT 3 OFFSET 1048580');
    expect(rows.map((r) => [r.id, Number(r.us), r.x])).toEqual(
      [1048580, 1048581, 1048582].map((i) => [id[i], Number(ts[i]), x[i]]),
    );

    const groups = await query(
      file,
      `SELECT row_group_id::INTEGER AS g, row_group_num_rows::INTEGER AS rows, stats_min_value AS min, stats_max_value AS max
         FROM parquet_metadata($file) WHERE path_in_schema = 'id' ORDER BY 1`,
    );
    expect(groups).toEqual([
      { g: 0, rows: 1 << 20, min: '-3', max: String((1 << 20) - 1) },
      { g: 1, rows: 1000, min: '-3', max: String(n - 1) },
    ]);
    // A filter on ts skips the row groups whose statistics rule them out.
    const [{ late }] = await query(
      file,
      "SELECT count(*)::INTEGER AS late FROM read_parquet($file) WHERE ts > TIMESTAMP '2040-01-01'",
    );
    expect(late).toBe(0);
  });

  it('writes nullable doubles (NaN → NULL) and string runs across row groups, read back exactly', async () => {
    dir = tempDir('marketdesk-parquet-');
    const runs = [
      { value: 'AAPL', count: 5 },
      { value: 'BRK.B', count: (1 << 20) - 2 }, // crosses into the second row group
      { value: 'ünï', count: 0 },
      { value: 'Z', count: 7 },
    ];
    const n = runs.reduce((k, r) => k + r.count, 0);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = i < 3 || (i > 1_000_000 && i % 1000 < 2) || i === n - 1 ? Number.NaN : i * 0.25;
    const file = join(dir, 'nullable.parquet');
    writeFileSync(
      file,
      Buffer.concat(
        encodeParquet([
          { name: 'symbol', type: 'utf8_runs', runs },
          { name: 'y', type: 'double', nullable: true, values: y },
        ]),
      ),
    );
    const symbols = await query(
      file,
      'SELECT symbol, count(*)::INTEGER AS n, typeof(any_value(symbol)) AS t FROM read_parquet($file) GROUP BY 1 ORDER BY 1',
    );
    expect(symbols).toEqual([
      { symbol: 'AAPL', n: 5, t: 'VARCHAR' },
      { symbol: 'BRK.B', n: (1 << 20) - 2, t: 'VARCHAR' },
      { symbol: 'Z', n: 7, t: 'VARCHAR' },
    ]);
    const nulls = Array.from(y).filter(Number.isNaN).length;
    const [summary] = await query(
      file,
      'SELECT count(*) FILTER (WHERE y IS NULL)::INTEGER AS nulls, count(*) FILTER (WHERE isnan(y))::INTEGER AS nans, sum(y) AS total FROM read_parquet($file)',
    );
    expect(summary).toMatchObject({ nulls, nans: 0 });
    expect(summary.total as number).toBeCloseTo(
      Array.from(y).reduce((a, v) => (Number.isNaN(v) ? a : a + v), 0),
      0,
    );
    const picks = [0, 3, 4, 5, 1_000_001, 1_000_002, n - 8, n - 2, n - 1];
    const got = await query(
      file,
      `SELECT i::INTEGER AS i, symbol, y FROM (SELECT row_number() OVER () - 1 AS i, symbol, y FROM read_parquet($file))
        WHERE i IN (${picks.join(', ')}) ORDER BY i`,
    );
    const symbolAt = (i: number) => (i < 5 ? 'AAPL' : i < 5 + (1 << 20) - 2 ? 'BRK.B' : 'Z');
    expect(got).toEqual(picks.map((i) => ({ i, symbol: symbolAt(i), y: Number.isNaN(y[i]) ? null : y[i] })));
  });

  it('writes a readable file with no rows', async () => {
    dir = tempDir('marketdesk-parquet-');
    const file = join(dir, 'empty.parquet');
    writeFileSync(
      file,
      Buffer.concat(
        encodeParquet([
          { name: 'id', type: 'int32', values: new Int32Array(0) },
          { name: 'x', type: 'double', values: new Float64Array(0) },
        ]),
      ),
    );
    expect(await query(file, 'SELECT count(*)::INTEGER AS n FROM read_parquet($file)')).toEqual([{ n: 0 }]);
  });

  it('refuses columns of different lengths', () => {
    expect(() =>
      encodeParquet([
        { name: 'a', type: 'double', values: new Float64Array(3) },
        { name: 'b', type: 'double', values: new Float64Array(2) },
      ]),
    ).toThrow(/column b has 2 values, expected 3/);
  });
});
