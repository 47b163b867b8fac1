/** Tables of the market-data cache (warehouse) and its hit/miss counters (journal). */
import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { type JournalMigration, sqlString, type WarehouseMigration } from '../storage';
import { indicatorDir, rewriteIndicatorView, STORED_INDICATOR_COLUMNS } from './indicator-files';

export const marketdataWarehouseMigrations: WarehouseMigration[] = [
  {
    id: 'marketdata/0001_bars',
    up: async (conn) => {
      await conn.run(`
        CREATE TABLE bars (
          symbol      VARCHAR   NOT NULL,
          exchange    VARCHAR   NOT NULL,
          data_type   VARCHAR   NOT NULL,   -- IBKR whatToShow: TRADES, MIDPOINT, BID, ASK, ADJUSTED_LAST
          bar_size    VARCHAR   NOT NULL,   -- IBKR bar size string, e.g. '1 day', '1 min'
          use_rth     BOOLEAN   NOT NULL,   -- regular trading hours only (RTH and all-hours bars differ)
          ts          TIMESTAMP NOT NULL,   -- bar start, UTC (daily bars: 00:00 UTC of the trading date)
          open        DOUBLE    NOT NULL,
          high        DOUBLE    NOT NULL,
          low         DOUBLE    NOT NULL,
          close       DOUBLE    NOT NULL,
          volume      DOUBLE    NOT NULL,   -- NaN when IBKR sends none (non-TRADES data)
          wap         DOUBLE,
          bar_count   BIGINT,
          indicators  JSON,                 -- derived indicators written by the pipeline, kept on re-fetch
          source      VARCHAR   NOT NULL,   -- 'ibkr' or 'ibkr-simulator'
          fetched_at  TIMESTAMP NOT NULL,
          request_id  VARCHAR   NOT NULL,
          PRIMARY KEY (symbol, exchange, data_type, bar_size, use_rth, ts)
        )`);
      await conn.run('CREATE INDEX bars_symbol_ts ON bars (symbol, ts)');
      await conn.run('CREATE INDEX bars_symbol_data_type ON bars (symbol, data_type)');
    },
  },
  {
    id: 'marketdata/0002_bar_coverage',
    up: `
      CREATE TABLE bar_coverage (
        symbol      VARCHAR   NOT NULL,
        exchange    VARCHAR   NOT NULL,
        data_type   VARCHAR   NOT NULL,
        bar_size    VARCHAR   NOT NULL,
        use_rth     BOOLEAN   NOT NULL,
        start_ts    TIMESTAMP NOT NULL,   -- [start_ts, end_ts) was fetched
        end_ts      TIMESTAMP NOT NULL,
        fetched_at  TIMESTAMP NOT NULL,
        row_count   BIGINT    NOT NULL,   -- 0 = IBKR had no data there (weekend, holiday, before listing)
        request_id  VARCHAR   NOT NULL,
        PRIMARY KEY (symbol, exchange, data_type, bar_size, use_rth, start_ts)
      )`,
  },
  {
    // The pipeline's indicators move out of bars.indicators (JSON, rewritten by a 1M-row UPDATE in ~10 s) into a
    // side table of typed DOUBLE columns filled by bulk appends. No PRIMARY KEY/ART index on purpose: a series'
    // range is replaced by DELETE + append, and an index would cost more than the write. bars.indicators stays
    // (DuckDB cannot drop a column of an indexed table) but is always NULL; bars_with_indicators restores the
    // contract: its `indicators` is the same JSON object the column used to hold, NULL when the bar has none.
    id: 'marketdata/0003_bar_indicators',
    up: async (conn) => {
      await conn.run('CREATE SEQUENCE bar_indicator_series_id START 1');
      await conn.run(`
        CREATE TABLE bar_indicator_series (
          series_id   INTEGER   NOT NULL DEFAULT nextval('bar_indicator_series_id') PRIMARY KEY,
          symbol      VARCHAR   NOT NULL,
          exchange    VARCHAR   NOT NULL,
          data_type   VARCHAR   NOT NULL,
          bar_size    VARCHAR   NOT NULL,
          use_rth     BOOLEAN   NOT NULL,
          UNIQUE (symbol, exchange, data_type, bar_size, use_rth)
        )`);
      await conn.run(`
        CREATE TABLE bar_indicators (
          series_id   INTEGER   NOT NULL,   -- bar_indicator_series: the bar's (symbol, exchange, data_type, bar_size, use_rth)
          ts          TIMESTAMP NOT NULL,   -- the bar's ts
          "return"    DOUBLE,               -- NULL during warm-up
          log_return  DOUBLE,
          "range"     DOUBLE,
          range_pct   DOUBLE,
          sma_20      DOUBLE,
          sma_50      DOUBLE,
          rsi_14      DOUBLE,
          macd        DOUBLE,
          macd_signal DOUBLE,
          macd_hist   DOUBLE
        )`);
      await conn.run(`
        CREATE VIEW bars_with_indicators AS
        SELECT b.* EXCLUDE (indicators),
               CASE WHEN i.series_id IS NULL THEN NULL ELSE json_object(${INDICATOR_COLUMNS.map((c) => `'${c}', i."${c}"`).join(', ')}) END AS indicators,
               ${INDICATOR_COLUMNS.map((c) => `i."${c}"`).join(', ')}
          FROM bars b
          LEFT JOIN bar_indicator_series s USING (symbol, exchange, data_type, bar_size, use_rth)
          LEFT JOIN bar_indicators i ON i.series_id = s.series_id AND i.ts = b.ts`);
      // Existing JSON indicators move over, then the legacy column is cleared.
      await conn.run(`
        INSERT INTO bar_indicator_series (symbol, exchange, data_type, bar_size, use_rth)
        SELECT DISTINCT symbol, exchange, data_type, bar_size, use_rth FROM bars WHERE indicators IS NOT NULL`);
      await conn.run(`
        INSERT INTO bar_indicators
        SELECT s.series_id, b.ts, ${INDICATOR_COLUMNS.map((c) => `(b.indicators->>'$.${c}')::DOUBLE`).join(', ')}
          FROM bars b JOIN bar_indicator_series s USING (symbol, exchange, data_type, bar_size, use_rth)
         WHERE b.indicators IS NOT NULL`);
      await conn.run('UPDATE bars SET indicators = NULL WHERE indicators IS NOT NULL');
    },
  },
  {
    // Storing less (issue 5's write-back target): three of the ten indicators are per-row expressions of the bar
    // and of two stored columns, so the view computes them instead of bar_indicators holding them — the same IEEE
    // operations in the same order as the pipeline (core/pipeline/indicators.ts), so the values are bit-identical:
    // range = high − low, range_pct = (high − low) / close × 100 (NULL for close 0), macd_hist = macd − macd_signal.
    // They are shown only for bars that have an indicator row, and they follow the bar's current high/low/close.
    // DuckDB binds views lazily, so the view is dropped first and recreated over the narrower table.
    id: 'marketdata/0004_derived_indicators_in_view',
    up: async (conn) => {
      await conn.run('DROP VIEW bars_with_indicators');
      for (const c of ['range', 'range_pct', 'macd_hist']) await conn.run(`ALTER TABLE bar_indicators DROP COLUMN "${c}"`);
      const has = 'i.series_id IS NOT NULL';
      const expr: Record<(typeof INDICATOR_COLUMNS)[number], string> = {
        return: 'i."return"',
        log_return: 'i.log_return',
        range: `CASE WHEN ${has} THEN b.high - b.low END`,
        range_pct: `CASE WHEN ${has} THEN (b.high - b.low) / nullif(b.close, 0) * 100 END`,
        sma_20: 'i.sma_20',
        sma_50: 'i.sma_50',
        rsi_14: 'i.rsi_14',
        macd: 'i.macd',
        macd_signal: 'i.macd_signal',
        macd_hist: 'i.macd - i.macd_signal',
      };
      await conn.run(`
        CREATE VIEW bars_with_indicators AS
        SELECT b.* EXCLUDE (indicators),
               CASE WHEN ${has} THEN json_object(${INDICATOR_COLUMNS.map((c) => `'${c}', ${expr[c]}`).join(', ')}) END AS indicators,
               ${INDICATOR_COLUMNS.map((c) => `${expr[c]} AS "${c}"`).join(', ')}
          FROM bars b
          LEFT JOIN bar_indicator_series s USING (symbol, exchange, data_type, bar_size, use_rth)
          LEFT JOIN bar_indicators i ON i.series_id = s.series_id AND i.ts = b.ts`);
    },
  },
  {
    // The write-back's cost is DuckDB compressing the stored DOUBLEs (issue 5's target): the indicators are full-
    // precision doubles, ALP cannot encode them and ALPRD saves only ~18 % of their blocks (measured: 196 vs 238
    // blocks for 1M rows × 7) at ~70–100 ms of CPU per 1M rows on every write. So these columns are stored
    // uncompressed. DuckDB cannot change a column's compression in place: the table is copied into a new one with
    // the same columns and renamed; the view binds by name when queried, so it reads the new table unchanged.
    id: 'marketdata/0005_indicators_uncompressed',
    up: async (conn) => {
      const stored = INDICATOR_COLUMNS.filter((c) => !['range', 'range_pct', 'macd_hist'].includes(c));
      await conn.run(`
        CREATE TABLE bar_indicators_0005 (
          series_id   INTEGER   NOT NULL,
          ts          TIMESTAMP NOT NULL,
          ${stored.map((c) => `"${c}" DOUBLE USING COMPRESSION uncompressed`).join(',\n          ')}
        )`);
      await conn.run(
        `INSERT INTO bar_indicators_0005 SELECT series_id, ts, ${stored.map((c) => `"${c}"`).join(', ')} FROM bar_indicators`,
      );
      await conn.run('DROP TABLE bar_indicators');
      await conn.run('ALTER TABLE bar_indicators_0005 RENAME TO bar_indicators');
    },
  },
  {
    // The indicators leave DuckDB's storage for one Parquet file per series beside the warehouse (issue 5's write-back
    // target: DuckDB's own append + commit of 1M rows × 9 columns is ~0.7 s here, the file ~0.15 s with its fsync;
    // see indicator-files.ts). bar_indicators becomes a view over the listed files, so readers and
    // bars_with_indicators are unchanged. The rows already stored move into files here (DuckDB's COPY writes them).
    id: 'marketdata/0006_indicators_in_parquet_files',
    up: async (conn) => {
      const [[path]] = (
        await conn.runAndReadAll('SELECT path FROM duckdb_databases() WHERE database_name = current_database()')
      ).getRows() as [string][];
      const dir = indicatorDir(path);
      await conn.run(`
        CREATE TABLE bar_indicator_files (
          series_id  INTEGER   NOT NULL PRIMARY KEY,   -- bar_indicator_series
          file       VARCHAR   NOT NULL,               -- its Parquet file in <warehouse>.indicators/
          rows       BIGINT    NOT NULL,
          first_ts   TIMESTAMP NOT NULL,
          last_ts    TIMESTAMP NOT NULL,
          written_at TIMESTAMP NOT NULL
        )`);
      const series = (
        await conn.runAndReadAll(
          'SELECT series_id, count(*)::BIGINT, min(ts)::VARCHAR, max(ts)::VARCHAR FROM bar_indicators GROUP BY 1 ORDER BY 1',
        )
      ).getRowsJS() as [number, bigint, string, string][];
      if (series.length > 0) mkdirSync(dir, { recursive: true });
      for (const [id, rows, first, last] of series) {
        const file = `${id}-migrated-${Date.now().toString(36)}.parquet`;
        await conn.run(
          `COPY (SELECT series_id, ts, ${STORED_INDICATOR_COLUMNS.map((c) => `"${c}"`).join(', ')}
                   FROM bar_indicators WHERE series_id = ${id} ORDER BY ts)
             TO ${sqlString(join(dir, file))} (FORMAT parquet)`,
        );
        const fd = openSync(join(dir, file), 'r');
        fsyncSync(fd);
        closeSync(fd);
        await conn.run(
          `INSERT INTO bar_indicator_files VALUES (${id}, ${sqlString(file)}, ${rows}, TIMESTAMP '${first}', TIMESTAMP '${last}', now())`,
        );
      }
      await conn.run('DROP TABLE bar_indicators');
      await rewriteIndicatorView(conn, dir);
    },
  },
];

/** The indicator columns of marketdata/0003 (frozen with that migration; the pipeline's INDICATOR_NAMES must match). */
const INDICATOR_COLUMNS = [
  'return',
  'log_return',
  'range',
  'range_pct',
  'sma_20',
  'sma_50',
  'rsi_14',
  'macd',
  'macd_signal',
  'macd_hist',
] as const;

export const marketdataJournalMigrations: JournalMigration[] = [
  {
    id: 'marketdata/0001_cache_stats',
    up: `
      CREATE TABLE cache_stats (
        symbol          TEXT    NOT NULL,
        exchange        TEXT    NOT NULL,
        data_type       TEXT    NOT NULL,
        bar_size        TEXT    NOT NULL,
        use_rth         INTEGER NOT NULL,
        hits            INTEGER NOT NULL DEFAULT 0,
        misses          INTEGER NOT NULL DEFAULT 0,
        rows_from_cache INTEGER NOT NULL DEFAULT 0,
        rows_from_ibkr  INTEGER NOT NULL DEFAULT 0,
        last_access_at  TEXT,
        last_fetch_at   TEXT,
        PRIMARY KEY (symbol, exchange, data_type, bar_size, use_rth)
      )`,
  },
];
