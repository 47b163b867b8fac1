/**
 * Idempotent bulk writes into the warehouse: rows go through the DuckDB appender into a temp
 * staging table, then one `INSERT OR REPLACE` (or `OR IGNORE`) moves them into the target, whose
 * primary key makes a second write of the same rows a no-op. A table whose key has no index
 * (`unindexedKey`) gets the same effect from statements: the stored rows with a staged key are
 * deleted before the insert (replace) or the staged rows with a stored key are left out (ignore),
 * both limited to the batch's range of one column so zone maps skip the rest of the table.
 * Call inside `warehouse.transaction`: writers are serialised there, so no key appears in between.
 */

import { type DuckDBAppender, type DuckDBConnection, DuckDBTimestampValue } from '@duckdb/node-api';
import { yieldToLoop } from '../platform';

export type ColumnKind = 'varchar' | 'double' | 'bigint' | 'integer' | 'boolean' | 'timestamp' | 'json';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
}

export interface UpsertOptions {
  /** Columns of the primary key: rows repeating a key inside one batch keep the last one. */
  key: readonly string[];
  /** replace (default): a re-written row takes the new values (replay after a fix); ignore: keep the stored one. */
  mode?: 'replace' | 'ignore';
  /** Yield to the event loop after this many appended rows (keeps a busy process responsive). */
  yieldEvery?: number;
  /** The table's key has no index: dedupe by statement over the batch's range of `rangeColumn`. */
  unindexedKey?: { rangeColumn: string };
}

/** Values per row in column order; `timestamp` values are epoch milliseconds. */
export type RowValues = readonly (string | number | boolean | null | undefined)[];

export async function upsertRows(
  conn: DuckDBConnection,
  table: string,
  columns: readonly ColumnSpec[],
  rows: readonly RowValues[],
  options: UpsertOptions,
): Promise<number> {
  if (rows.length === 0) return 0;
  const unique = dedupeByKey(columns, rows, options.key);
  const stage = `stage_${table}_${Math.floor(Math.random() * 1e9)}`;
  const cols = columns.map((c) => `"${c.name}"`).join(', ');
  await conn.run(`CREATE TEMP TABLE "${stage}" AS SELECT ${cols} FROM "${table}" LIMIT 0`);
  try {
    const appender = await conn.createAppender(stage, 'main', 'temp');
    try {
      let n = 0;
      for (const row of unique) {
        for (let i = 0; i < columns.length; i++) appendValue(appender, columns[i].kind, row[i]);
        appender.endRow();
        if (options.yieldEvery && ++n % options.yieldEvery === 0) await yieldToLoop();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    if (options.unindexedKey) {
      await writeByStatement(conn, table, stage, columns, options, options.unindexedKey.rangeColumn);
    } else {
      const verb = options.mode === 'ignore' ? 'INSERT OR IGNORE' : 'INSERT OR REPLACE';
      await conn.run(`${verb} INTO "${table}" (${cols}) SELECT ${cols} FROM "${stage}"`);
    }
  } finally {
    await conn.run(`DROP TABLE IF EXISTS "${stage}"`);
  }
  return unique.length;
}

const SQL_TYPE: Record<ColumnKind, string> = {
  varchar: 'VARCHAR',
  json: 'JSON',
  double: 'DOUBLE',
  bigint: 'BIGINT',
  integer: 'INTEGER',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
};

/** The unindexed-key upsert: the staged rows are unique by key (dedupeByKey). */
async function writeByStatement(
  conn: DuckDBConnection,
  table: string,
  stage: string,
  columns: readonly ColumnSpec[],
  options: UpsertOptions,
  rangeColumn: string,
): Promise<void> {
  const spec = columns.find((c) => c.name === rangeColumn);
  if (!spec) throw new Error(`upsert range column ${rangeColumn} is not among the columns`);
  const cols = columns.map((c) => `"${c.name}"`).join(', ');
  // The bounds go in as constants (not subqueries) so DuckDB can prune row groups by their zone maps.
  const reader = await conn.runAndReadAll(
    `SELECT min("${rangeColumn}")::VARCHAR AS lo, max("${rangeColumn}")::VARCHAR AS hi FROM "${stage}"`,
  );
  const { lo, hi } = reader.getRowObjectsJS()[0] as { lo: string; hi: string };
  const type = SQL_TYPE[spec.kind];
  const inRange = `t."${rangeColumn}" BETWEEN $lo::${type} AND $hi::${type}`;
  const sameKey = options.key.map((k) => `t."${k}" = s."${k}"`).join(' AND ');
  if (options.mode === 'ignore') {
    await conn.run(
      `INSERT INTO "${table}" (${cols}) SELECT ${cols} FROM "${stage}" s
        WHERE NOT EXISTS (SELECT 1 FROM "${table}" t WHERE ${inRange} AND ${sameKey})`,
      { lo, hi },
    );
    return;
  }
  await conn.run(`DELETE FROM "${table}" t WHERE ${inRange} AND EXISTS (SELECT 1 FROM "${stage}" s WHERE ${sameKey})`, {
    lo,
    hi,
  });
  await conn.run(`INSERT INTO "${table}" (${cols}) SELECT ${cols} FROM "${stage}"`);
}

function dedupeByKey(columns: readonly ColumnSpec[], rows: readonly RowValues[], key: readonly string[]): RowValues[] {
  const idx = key.map((k) => {
    const i = columns.findIndex((c) => c.name === k);
    if (i < 0) throw new Error(`upsert key column ${k} is not among the columns`);
    return i;
  });
  const byKey = new Map<string, RowValues>();
  for (const row of rows) byKey.set(JSON.stringify(idx.map((i) => row[i] ?? null)), row);
  return [...byKey.values()];
}

function appendValue(appender: DuckDBAppender, kind: ColumnKind, value: RowValues[number]): void {
  if (value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value))) {
    appender.appendNull();
    return;
  }
  switch (kind) {
    case 'varchar':
    case 'json':
      appender.appendVarchar(String(value));
      return;
    case 'double':
      appender.appendDouble(Number(value));
      return;
    case 'bigint':
      appender.appendBigInt(BigInt(Math.trunc(Number(value))));
      return;
    case 'integer':
      appender.appendInteger(Math.trunc(Number(value)));
      return;
    case 'boolean':
      appender.appendBoolean(Boolean(value));
      return;
    case 'timestamp':
      appender.appendTimestamp(new DuckDBTimestampValue(BigInt(Math.round(Number(value))) * 1000n));
      return;
  }
}
