/**
 * Public face of core/gex: the one GEX snapshot schema (gexbot classic) shared by the `/gex`
 * webhook and the history import, its warehouse tables and an idempotent writer.
 */
import type { JournalMigration, WarehouseMigration } from '../storage';

export {
  classicToRows,
  GEX_SNAPSHOT_KNOWN_FIELDS,
  type GexClassicSnapshot,
  type GexSnapshotBundle,
  type GexSnapshotRow,
  type GexStrikeRow,
  type GexStrikeRowValue,
  gexClassicSnapshotSchema,
  gexStrikeRowSchema,
  gexStrikeRowsSchema,
  parseGexStrikeRow,
  parseGexStrikeRows,
} from './schema';
export { GEX_SNAPSHOT_COLUMNS, GEX_STRIKE_COLUMNS, type GexWriteInput, writeGexRows, writeGexSnapshots } from './store';

export const journalMigrations: JournalMigration[] = [];

export const warehouseMigrations: WarehouseMigration[] = [
  {
    id: 'gex/0001_snapshots_and_strikes',
    up: `
      CREATE TABLE gex_snapshots (
        ticker VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        ts TIMESTAMP NOT NULL,
        source VARCHAR NOT NULL,
        spot DOUBLE,
        zero_gamma DOUBLE,
        major_pos_vol DOUBLE,
        major_pos_oi DOUBLE,
        major_neg_vol DOUBLE,
        major_neg_oi DOUBLE,
        min_dte DOUBLE,
        sec_min_dte DOUBLE,
        sum_gex_vol DOUBLE,
        sum_gex_oi DOUBLE,
        delta_risk_reversal DOUBLE,
        max_priors JSON,
        extra JSON,
        written_at TIMESTAMP NOT NULL,
        PRIMARY KEY (ticker, category, ts)
      );
      CREATE TABLE gex_strikes (
        ticker VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        ts TIMESTAMP NOT NULL,
        expiry VARCHAR NOT NULL,
        strike DOUBLE NOT NULL,
        source VARCHAR NOT NULL,
        gex_vol DOUBLE,
        gex_oi DOUBLE,
        priors JSON,
        extra JSON,
        PRIMARY KEY (ticker, category, ts, expiry, strike)
      );
    `,
  },
  {
    // The strike key loses its index (ART): keeping it up to date was two thirds of a 1M-row history merge
    // (1.2 s of 1.8 s, half of it in the checkpoint that serialises the index), while no reader looks rows up
    // by key — they scan a ticker's time range, which zone maps serve. The key stays unique because every
    // writer goes through a warehouse transaction (serialised) and dedupes by statement against the rows of
    // its time range (writeGexRows, the import merge); the integrity check reports any duplicate key.
    id: 'gex/0002_strikes_key_without_index',
    up: `
      CREATE TABLE gex_strikes_unindexed (
        ticker VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        ts TIMESTAMP NOT NULL,
        expiry VARCHAR NOT NULL,
        strike DOUBLE NOT NULL,
        source VARCHAR NOT NULL,
        gex_vol DOUBLE,
        gex_oi DOUBLE,
        priors JSON,
        extra JSON
      );
      INSERT INTO gex_strikes_unindexed SELECT * FROM gex_strikes ORDER BY ts, ticker, category, expiry, strike;
      DROP TABLE gex_strikes;
      ALTER TABLE gex_strikes_unindexed RENAME TO gex_strikes;
    `,
  },
];
