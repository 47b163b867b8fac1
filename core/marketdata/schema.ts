/** Tables of the market-data cache (warehouse) and its hit/miss counters (journal). */
import type { JournalMigration, WarehouseMigration } from '../storage';

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
];

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
