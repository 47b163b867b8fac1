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

describe('encodeParquet: REQUIRED, PLAIN, uncompressed columns from typed arrays', () => {
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
