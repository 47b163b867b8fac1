/**
 * Writes GEX snapshots and strike rows into the warehouse idempotently: a snapshot is keyed by
 * (ticker, category, ts), a strike row by (ticker, category, ts, expiry, strike). Writing the same
 * snapshot twice (webhook + history import, or a replay) leaves one copy.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Warehouse } from '../storage';
import { type ColumnSpec, upsertRows } from '../storage/upsert';
import type { GexSnapshotBundle, GexSnapshotRow, GexStrikeRow } from './schema';

export const GEX_SNAPSHOT_COLUMNS: ColumnSpec[] = [
  { name: 'ticker', kind: 'varchar' },
  { name: 'category', kind: 'varchar' },
  { name: 'ts', kind: 'timestamp' },
  { name: 'source', kind: 'varchar' },
  { name: 'spot', kind: 'double' },
  { name: 'zero_gamma', kind: 'double' },
  { name: 'major_pos_vol', kind: 'double' },
  { name: 'major_pos_oi', kind: 'double' },
  { name: 'major_neg_vol', kind: 'double' },
  { name: 'major_neg_oi', kind: 'double' },
  { name: 'min_dte', kind: 'double' },
  { name: 'sec_min_dte', kind: 'double' },
  { name: 'sum_gex_vol', kind: 'double' },
  { name: 'sum_gex_oi', kind: 'double' },
  { name: 'delta_risk_reversal', kind: 'double' },
  { name: 'max_priors', kind: 'json' },
  { name: 'extra', kind: 'json' },
  { name: 'written_at', kind: 'timestamp' },
];

export const GEX_STRIKE_COLUMNS: ColumnSpec[] = [
  { name: 'ticker', kind: 'varchar' },
  { name: 'category', kind: 'varchar' },
  { name: 'ts', kind: 'timestamp' },
  { name: 'expiry', kind: 'varchar' },
  { name: 'strike', kind: 'double' },
  { name: 'source', kind: 'varchar' },
  { name: 'gex_vol', kind: 'double' },
  { name: 'gex_oi', kind: 'double' },
  { name: 'priors', kind: 'json' },
  { name: 'extra', kind: 'json' },
];

export function snapshotValues(s: GexSnapshotRow, writtenAt: number) {
  return [
    s.ticker,
    s.category,
    s.tsMs,
    s.source,
    s.spot,
    s.zeroGamma,
    s.majorPosVol,
    s.majorPosOi,
    s.majorNegVol,
    s.majorNegOi,
    s.minDte,
    s.secMinDte,
    s.sumGexVol,
    s.sumGexOi,
    s.deltaRiskReversal,
    s.maxPriors,
    s.extra,
    writtenAt,
  ];
}

export function strikeValues(r: GexStrikeRow) {
  return [r.ticker, r.category, r.tsMs, r.expiry, r.strike, r.source, r.gexVol, r.gexOi, r.priors, r.extra];
}

export interface GexWriteInput {
  snapshots?: readonly GexSnapshotRow[];
  strikes?: readonly GexStrikeRow[];
}

/**
 * Upserts inside an existing warehouse transaction (`warehouse.transaction(conn => writeGexRows(conn, …))`),
 * so callers can combine it with their own writes. mode 'replace' (default) lets a replay fix rows.
 */
export async function writeGexRows(
  conn: DuckDBConnection,
  input: GexWriteInput,
  options: { mode?: 'replace' | 'ignore'; writtenAt?: number } = {},
): Promise<{ snapshots: number; strikes: number }> {
  const writtenAt = options.writtenAt ?? Date.now();
  const snapshots = await upsertRows(
    conn,
    'gex_snapshots',
    GEX_SNAPSHOT_COLUMNS,
    (input.snapshots ?? []).map((s) => snapshotValues(s, writtenAt)),
    { key: ['ticker', 'category', 'ts'], mode: options.mode },
  );
  const strikes = await upsertRows(conn, 'gex_strikes', GEX_STRIKE_COLUMNS, (input.strikes ?? []).map(strikeValues), {
    key: ['ticker', 'category', 'ts', 'expiry', 'strike'],
    mode: options.mode,
    unindexedKey: { rangeColumn: 'ts' }, // gex/0002
  });
  return { snapshots, strikes };
}

/** Convenience for a whole list of bundles in one warehouse transaction (e.g. one history file). */
export async function writeGexSnapshots(
  warehouse: Warehouse,
  bundles: readonly GexSnapshotBundle[],
  options: { mode?: 'replace' | 'ignore' } = {},
): Promise<{ snapshots: number; strikes: number }> {
  return warehouse.transaction((conn) =>
    writeGexRows(conn, { snapshots: bundles.map((b) => b.snapshot), strikes: bundles.flatMap((b) => b.strikes) }, options),
  );
}
