import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callOrThrow } from '../../core/api';
import type { RawBar } from '../../core/ibkr/types';
import { createBackup, restoreBackup } from '../../core/imports';
import type { SeriesKey } from '../../core/marketdata';
import { readFloat64Columns } from '../../core/marketdata/columns';
import { indicatorDir, sweepIndicatorFiles, writeIndicatorFile } from '../../core/marketdata/indicator-files';
import { marketdataWarehouseMigrations } from '../../core/marketdata/schema';
import { ALL_MIGRATIONS } from '../../core/migrations';
import {
  computeIndicators,
  INDICATOR_FORMULAS,
  INDICATOR_NAMES,
  warehouseMigrations as pipelineWarehouseMigrations,
  readSeries,
  STORED_INDICATORS,
  type SymbolSeries,
  writeBackIndicators,
} from '../../core/pipeline';
import { openStores } from '../../core/storage';
import { Warehouse } from '../../core/storage/warehouse';
import { removeDir, tempDir } from '../support/temp';
import { openPipelineWorkstation, type PipelineWorkstation } from './support';

const SEL = { exchange: 'NASDAQ', dataType: 'TRADES' as const, barSize: '1 min' as const, useRTH: true };
const T0 = Date.UTC(2025, 5, 2, 13, 30);
const MIGRATIONS = [...marketdataWarehouseMigrations, ...pipelineWarehouseMigrations];

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function openWarehouse(migrations = MIGRATIONS): Promise<Warehouse> {
  const dir = tempDir('marketdesk-indicators-');
  const wh = await Warehouse.open(`${dir}/market.duckdb`);
  cleanup.push(async () => {
    await wh.close();
    removeDir(dir);
  });
  await wh.migrate(migrations);
  return wh;
}

/** `n` one-minute bars per symbol: a smooth walk with consistent OHLC. */
async function seedBars(wh: Warehouse, symbols: string[], n: number, indicatorsJson = 'NULL'): Promise<void> {
  await wh.run(`
    INSERT INTO bars
    SELECT s.symbol, 'NASDAQ', 'TRADES', '1 min', true, make_timestamp((${T0} + i * 60000)::BIGINT * 1000),
           c - 0.1, c + 0.5, c - 0.5, c, 1000 + i, NULL, NULL, ${indicatorsJson}, 'test', TIMESTAMP '2025-06-03', 'seed'
      FROM (SELECT unnest([${symbols.map((x) => `'${x}'`).join(', ')}]) AS symbol) s,
           (SELECT i, 100 + 5 * sin(i / 7.0) + i * 0.01 AS c FROM range(${n}) r(i))`);
}

async function compute(wh: Warehouse, symbols: string[], range = { from: 0, to: Date.UTC(2030, 0, 1) }) {
  const series: SymbolSeries[] = [];
  for (const [symbol, bars] of await readSeries(wh, symbols, SEL, range)) {
    series.push({ symbol, bars, indicators: computeIndicators(bars) });
  }
  return series;
}

/** Indicators as a warehouse before marketdata/0006 held them: rows of the bar_indicators table. */
async function storeInTable(wh: Warehouse, series: SymbolSeries[]): Promise<void> {
  const scratch = tempDir('marketdesk-indicator-rows-');
  try {
    for (const [i, one] of series.entries()) {
      await wh.run(`INSERT INTO bar_indicator_series VALUES (${i + 1}, '${one.symbol}', 'NASDAQ', 'TRADES', '1 min', true)`);
      const columns = Object.fromEntries(STORED_INDICATORS.map((k) => [k, one.indicators[k]]));
      const { file } = await writeIndicatorFile(scratch, i + 1, one.bars.ts, columns as never);
      await wh.run(
        `INSERT INTO bar_indicators SELECT series_id, ts, ${STORED_INDICATORS.map((k) => `nullif("${k}", 'NaN'::DOUBLE)`).join(', ')}
           FROM read_parquet('${join(scratch, file)}')`,
      );
    }
  } finally {
    removeDir(scratch);
  }
}

async function viewColumns(wh: Warehouse, symbol: string) {
  return readFloat64Columns(
    wh.connection,
    `SELECT (epoch_us(ts) / 1000)::DOUBLE, ${INDICATOR_NAMES.map((k) => `"${k}"`).join(', ')}
       FROM bars_with_indicators WHERE symbol = $symbol ORDER BY ts`,
    { symbol },
    ['ts', ...INDICATOR_NAMES] as const,
  );
}

describe('indicator storage (bar_indicators + the bars_with_indicators view)', () => {
  it('gives readers back exactly what the pipeline computed, typed or as the JSON object bars.indicators used to hold', async () => {
    const wh = await openWarehouse();
    // 5,000 bars a symbol: several appender chunks of 2,048 and a partial one.
    await seedBars(wh, ['AAA', 'BBB'], 5000);
    const series = await compute(wh, ['AAA', 'BBB']);
    expect(await writeBackIndicators(wh, series, SEL)).toBe(10_000);

    // The side table stores the indicators that are not per-row expressions of the bar (marketdata/0004);
    // the view computes range, range_pct and macd_hist, and every one of the ten reads back bit for bit.
    const columns = await wh.rows<{ name: string }>(
      "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'bar_indicators' ORDER BY ordinal_position",
    );
    expect(columns.map((c) => c.name)).toEqual(['series_id', 'ts', ...STORED_INDICATORS]);

    for (const one of series) {
      const back = await viewColumns(wh, one.symbol);
      expect(back.rowCount).toBe(5000);
      expect(Array.from(back.ts)).toEqual(Array.from(one.bars.ts));
      // Bit for bit, NaN (warm-up) read back from NULL.
      for (const k of INDICATOR_NAMES) expect(Array.from(back[k]), k).toEqual(Array.from(one.indicators[k]));
    }
    const json = await wh.rows<{ n: number; nulls: number; signal: number; rsi: number }>(
      `SELECT count(indicators)::INTEGER AS n,
              count(*) FILTER (WHERE indicators->>'$.macd_signal' IS NULL)::INTEGER AS nulls,
              (max_by(indicators, ts)->>'$.macd_signal')::DOUBLE AS signal,
              (max_by(indicators, ts)->>'$.rsi_14')::DOUBLE AS rsi
         FROM bars_with_indicators WHERE symbol = 'AAA'`,
    );
    expect(json[0].n).toBe(5000);
    expect(json[0].nulls).toBe(33);
    expect(json[0].signal).toBe(series[0].indicators.macd_signal[4999]);
    expect(json[0].rsi).toBe(series[0].indicators.rsi_14[4999]);
    // The legacy column is no longer written.
    const [{ legacy }] = await wh.rows<{ legacy: number }>('SELECT count(indicators)::INTEGER AS legacy FROM bars');
    expect(legacy).toBe(0);
  });

  it('replaces only the range a run covered, never duplicates a bar, and skips a series that did not change', async () => {
    const wh = await openWarehouse();
    await seedBars(wh, ['AAA', 'BBB'], 400);
    const full = await compute(wh, ['AAA', 'BBB']);
    expect(await writeBackIndicators(wh, full, SEL)).toBe(800);

    // A later run over the last 150 bars only: warm-up restarts there, the older bars keep their values.
    const tail = await compute(wh, ['AAA', 'BBB'], { from: T0 + 250 * 60_000, to: Date.UTC(2030, 0, 1) });
    expect(tail.map((one) => one.bars.ts.length)).toEqual([150, 150]);
    expect(await writeBackIndicators(wh, tail, SEL)).toBe(300);
    const [{ rows }] = await wh.rows<{ rows: number }>('SELECT count(*)::INTEGER AS rows FROM bar_indicators');
    expect(rows).toBe(800);
    for (const [i, symbol] of ['AAA', 'BBB'].entries()) {
      const back = await viewColumns(wh, symbol);
      expect(back.rowCount).toBe(400);
      expect(Array.from(back.sma_50.subarray(0, 250))).toEqual(Array.from(full[i].indicators.sma_50.subarray(0, 250)));
      expect(Array.from(back.sma_50.subarray(250))).toEqual(Array.from(tail[i].indicators.sma_50));
      expect(Number.isNaN(back.return[250])).toBe(true);
    }

    // The same indicators again: nothing is rewritten.
    expect(await writeBackIndicators(wh, tail, SEL)).toBe(0);
    // A series whose file went (e.g. a restored backup that predates it) is written again, and only it.
    const [[aaaFile]] = (await wh.read('SELECT file FROM bar_indicator_files WHERE series_id = 1')).getRows() as [string][];
    rmSync(join(indicatorDir(wh.path), aaaFile));
    expect(await writeBackIndicators(wh, tail, SEL)).toBe(150);
    const again = await wh.rows<{ series_id: number; n: number }>(
      'SELECT series_id, count(*)::INTEGER AS n FROM bar_indicators GROUP BY 1 ORDER BY 1',
    );
    expect(again).toEqual([
      { series_id: 1, n: 150 },
      { series_id: 2, n: 400 },
    ]);
  });

  it('moves indicators a cache held in bars.indicators before marketdata/0003 into bar_indicators', async () => {
    const before = MIGRATIONS.filter((m) => !/^marketdata\/000[3-6]_/.test(m.id));
    const wh = await openWarehouse(before);
    const json = `json_object(${INDICATOR_NAMES.map((k, i) => `'${k}', ${k === 'macd_signal' ? 'NULL' : `i + ${i}`}`).join(', ')})`;
    await seedBars(wh, ['OLD'], 50, json);
    await wh.migrate(MIGRATIONS);

    const back = await viewColumns(wh, 'OLD');
    expect(back.rowCount).toBe(50);
    expect(back.rsi_14[10]).toBe(10 + INDICATOR_NAMES.indexOf('rsi_14'));
    expect(Number.isNaN(back.macd_signal[10])).toBe(true);
    const [{ legacy, viaView }] = await wh.rows<{ legacy: number; viaView: number }>(
      `SELECT (SELECT count(indicators) FROM bars)::INTEGER AS legacy,
              (SELECT count(indicators) FROM bars_with_indicators)::INTEGER AS "viaView"`,
    );
    expect(legacy).toBe(0);
    expect(viaView).toBe(50);
  });
});

describe('indicator columns stored uncompressed (marketdata/0005)', () => {
  const compressionOf = async (wh: Warehouse) =>
    wh.rows<{ name: string; compression: string[] }>(
      `SELECT column_name AS name, list(DISTINCT compression ORDER BY compression) AS compression
         FROM pragma_storage_info('bar_indicators') WHERE segment_type = 'DOUBLE' GROUP BY ALL ORDER BY 1`,
    );

  it('keeps the indicators written before it, bit for bit, and writes every later DOUBLE segment uncompressed', async () => {
    const before = MIGRATIONS.filter((m) => !/^marketdata\/000[56]_/.test(m.id));
    const wh = await openWarehouse(before);
    await seedBars(wh, ['AAA'], 3000);
    const series = await compute(wh, ['AAA']);
    await storeInTable(wh, series);
    await wh.checkpoint();
    // Before 0005 DuckDB picks a compression of its own for the full-precision doubles.
    expect((await compressionOf(wh)).some((c) => c.compression.some((k) => k !== 'Uncompressed' && k !== 'Constant'))).toBe(true);

    await wh.migrate(MIGRATIONS.filter((m) => !/^marketdata\/0006_/.test(m.id)));
    const back = await viewColumns(wh, 'AAA');
    expect(back.rowCount).toBe(3000);
    for (const k of INDICATOR_NAMES) expect(Array.from(back[k]), k).toEqual(Array.from(series[0].indicators[k]));
    const columns = await wh.rows<{ name: string }>(
      "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'bar_indicators' ORDER BY ordinal_position",
    );
    expect(columns.map((c) => c.name)).toEqual(['series_id', 'ts', ...STORED_INDICATORS]);
    await wh.checkpoint();
    const stored = await compressionOf(wh);
    expect(stored.map((c) => c.name).sort()).toEqual([...STORED_INDICATORS].sort());
    for (const c of stored)
      expect(
        c.compression.filter((k) => k !== 'Constant'),
        c.name,
      ).toEqual(['Uncompressed']);
  });
});

describe('indicators in Parquet files (marketdata/0006)', () => {
  const filesOf = (wh: Warehouse) => readdirSync(indicatorDir(wh.path)).sort();
  const listed = async (wh: Warehouse) =>
    ((await wh.read('SELECT file FROM bar_indicator_files ORDER BY series_id')).getRows() as [string][]).map(([f]) => f);

  it('moves the rows a warehouse stored before it into one file per series, bit for bit, and a later partial run merges with them', async () => {
    const wh = await openWarehouse(MIGRATIONS.filter((m) => !/^marketdata\/0006_/.test(m.id)));
    await seedBars(wh, ['AAA', 'BBB'], 400);
    const series = await compute(wh, ['AAA', 'BBB']);
    await storeInTable(wh, series);
    await wh.migrate(MIGRATIONS);

    const [{ kind }] = await wh.rows<{ kind: string }>(
      "SELECT table_type AS kind FROM information_schema.tables WHERE table_name = 'bar_indicators'",
    );
    expect(kind).toBe('VIEW');
    expect(filesOf(wh)).toEqual(await listed(wh).then((f) => [...f].sort()));
    expect(filesOf(wh)).toHaveLength(2);
    for (const one of series) {
      const back = await viewColumns(wh, one.symbol);
      for (const k of INDICATOR_NAMES) expect(Array.from(back[k]), k).toEqual(Array.from(one.indicators[k]));
    }
    // The pipeline's ledger did not know these rows: a run over the last 100 bars rewrites each series' file and
    // keeps its first 300 rows as DuckDB wrote them (NULLs included).
    const tail = await compute(wh, ['AAA', 'BBB'], { from: T0 + 300 * 60_000, to: Date.UTC(2030, 0, 1) });
    expect(await writeBackIndicators(wh, tail, SEL)).toBe(200);
    for (const [i, one] of series.entries()) {
      const back = await viewColumns(wh, one.symbol);
      expect(back.rowCount).toBe(400);
      expect(Array.from(back.rsi_14.subarray(0, 300))).toEqual(Array.from(one.indicators.rsi_14.subarray(0, 300)));
      expect(Array.from(back.rsi_14.subarray(300))).toEqual(Array.from(tail[i].indicators.rsi_14));
    }
  });

  it('keeps one file per series: a rewrite replaces it, and replaced files and files a crash left unlisted are deleted by the next sweep', async () => {
    const wh = await openWarehouse();
    await seedBars(wh, ['AAA', 'BBB'], 300);
    const first = await compute(wh, ['AAA', 'BBB']);
    expect(await writeBackIndicators(wh, first, SEL)).toBe(600);
    const firstFiles = await listed(wh);
    expect(filesOf(wh)).toEqual([...firstFiles].sort());

    // New closes for AAA: only its file is replaced; the old one stays until the next sweep.
    await wh.run("UPDATE bars SET close = close + 1 WHERE symbol = 'AAA'");
    const second = await compute(wh, ['AAA', 'BBB']);
    expect(await writeBackIndicators(wh, second, SEL)).toBe(300);
    const secondFiles = await listed(wh);
    expect(secondFiles[0]).not.toBe(firstFiles[0]);
    expect(secondFiles[1]).toBe(firstFiles[1]);
    expect(filesOf(wh)).toEqual([...new Set([...firstFiles, ...secondFiles])].sort());
    expect((await viewColumns(wh, 'AAA')).sma_20[299]).toBe(second[0].indicators.sma_20[299]);

    // A file written by a write-back that crashed before its commit: never listed, never read.
    const orphan = join(indicatorDir(wh.path), '1-crashed-00000000.parquet');
    writeFileSync(orphan, readFileSync(join(indicatorDir(wh.path), firstFiles[0])));
    const [{ n }] = await wh.rows<{ n: number }>("SELECT count(*)::INTEGER AS n FROM bars_with_indicators WHERE symbol = 'AAA'");
    expect(n).toBe(300);

    expect(await sweepIndicatorFiles(wh)).toEqual({ removed: 2, missing: 0 });
    expect(filesOf(wh)).toEqual([...secondFiles].sort());
    expect(existsSync(orphan)).toBe(false);
    expect((await viewColumns(wh, 'BBB')).macd[299]).toBe(second[1].indicators.macd[299]);
  });

  it('an unlisted file that cannot be deleted now fails neither a write nor the sweep, and is left for later', async () => {
    const wh = await openWarehouse();
    await seedBars(wh, ['AAA'], 100);
    expect(await writeBackIndicators(wh, await compute(wh, ['AAA']), SEL)).toBe(100);
    // rm without recursion refuses a directory, as Windows refuses a file a reader holds open.
    const stuck = join(indicatorDir(wh.path), '1-stuck-00000000.parquet');
    mkdirSync(stuck);
    writeFileSync(join(stuck, 'inside'), 'x');
    await wh.run("UPDATE bars SET close = close * 2 WHERE symbol = 'AAA'");
    expect(await writeBackIndicators(wh, await compute(wh, ['AAA']), SEL)).toBe(100);
    expect(await sweepIndicatorFiles(wh)).toEqual({ removed: 1, missing: 0 });
    expect(existsSync(stuck)).toBe(true);
    expect((await viewColumns(wh, 'AAA')).rowCount).toBe(100);
  });

  it('reads on without a series whose file is gone, and forgets that file at the sweep', async () => {
    const wh = await openWarehouse();
    await seedBars(wh, ['AAA', 'BBB'], 200);
    expect(await writeBackIndicators(wh, await compute(wh, ['AAA', 'BBB']), SEL)).toBe(400);
    const [aaa] = await listed(wh);
    rmSync(join(indicatorDir(wh.path), aaa));

    expect(await sweepIndicatorFiles(wh)).toEqual({ removed: 0, missing: 1 });
    const counts = await wh.rows<{ symbol: string; n: number }>(
      'SELECT symbol, count(indicators)::INTEGER AS n FROM bars_with_indicators GROUP BY 1 ORDER BY 1',
    );
    expect(counts).toEqual([
      { symbol: 'AAA', n: 0 },
      { symbol: 'BBB', n: 200 },
    ]);
  });
});

describe('indicators follow their bars in the cache', () => {
  let t: PipelineWorkstation | null = null;
  afterEach(async () => {
    await t?.dispose();
    t = null;
  });

  it('drops the indicators of cleared bars and keeps the others', async () => {
    t = await openPipelineWorkstation();
    const outcome = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA', 'TSLA'], from: '2025-06-02', to: '2025-07-02' }).done;
    expect(outcome.status).toBe('succeeded');
    const count = async () =>
      t?.ws.stores.warehouse.rows<{ symbol: string; n: number }>(
        `SELECT s.symbol, count(*)::INTEGER AS n FROM bar_indicators i JOIN bar_indicator_series s USING (series_id)
          GROUP BY ALL ORDER BY s.symbol`,
      );
    const rows = t.ws.runs.tracker.get(outcome.runId).latestMetrics;
    expect(await count()).toEqual([
      { symbol: 'NVDA', n: rows['rows.NVDA'] },
      { symbol: 'TSLA', n: rows['rows.TSLA'] },
    ]);

    await callOrThrow(t.ws.dispatcher, 'cache.clear', { symbol: 'NVDA' });
    expect(await count()).toEqual([{ symbol: 'TSLA', n: rows['rows.TSLA'] }]);
  });
});

describe('indicator files across backups and revised histories', () => {
  let t: PipelineWorkstation | null = null;
  const dirs: string[] = [];
  afterEach(async () => {
    await t?.dispose();
    t = null;
    for (const d of dirs.splice(0)) removeDir(d);
  });
  const indicatorsOf = async (wh: Warehouse, symbol: string) =>
    (
      await readFloat64Columns(
        wh.connection,
        'SELECT macd_signal FROM bars_with_indicators WHERE symbol = $symbol ORDER BY ts',
        { symbol },
        ['signal'] as const,
      )
    ).signal;

  it('a backup keeps the indicator files its warehouse lists, and restoring it brings them back', async () => {
    const dataDir = tempDir('marketdesk-indicator-backup-');
    dirs.push(dataDir);
    t = await openPipelineWorkstation({ dataDir });
    const params = { symbols: ['NVDA', 'TSLA'], from: '2025-06-02', to: '2025-07-02' };
    expect((await t.ws.runs.pipeline.trigger(params).done).status).toBe('succeeded');
    const before = await indicatorsOf(t.ws.stores.warehouse, 'NVDA');
    expect(before.filter((v) => !Number.isNaN(v)).length).toBeGreaterThan(0);
    const backup = await createBackup(t.ws.stores, dataDir, { reason: 'test', retention: 10 });
    expect(backup.indicators).toEqual({ files: 2, bytes: expect.any(Number) });

    // Afterwards NVDA's bars go (and its indicators with them); the backup still has both.
    await callOrThrow(t.ws.dispatcher, 'cache.clear', { symbol: 'NVDA' });
    await t.ws.stop();
    t = null;
    await sweepAt(dataDir); // the replaced NVDA file is deleted, as the next start would
    await restoreBackup(dataDir, backup.id, () => openStores(dataDir, ALL_MIGRATIONS), { retention: 10 });

    t = await openPipelineWorkstation({ dataDir });
    expect(Array.from(await indicatorsOf(t.ws.stores.warehouse, 'NVDA'))).toEqual(Array.from(before));
  });

  it("a history IBKR revised drops that series' indicators, and only its, until the next run", async () => {
    t = await openPipelineWorkstation();
    const params = { symbols: ['NVDA', 'TSLA'], from: '2025-06-02', to: '2025-07-02' };
    expect((await t.ws.runs.pipeline.trigger(params).done).status).toBe('succeeded');
    const wh = t.ws.stores.warehouse;
    const [key] = await wh.rows<{ exchange: string; dataType: string; barSize: string; useRTH: boolean }>(
      `SELECT exchange, data_type AS "dataType", bar_size AS "barSize", use_rth AS "useRTH" FROM bar_indicator_series WHERE symbol = 'NVDA'`,
    );
    const bars = await wh.rows<RawBar>(
      `SELECT epoch_ms(ts) AS ts, open, high, low, close, volume, coalesce(wap, close) AS wap, coalesce(bar_count, 0) AS count
         FROM bars WHERE symbol = 'NVDA' ORDER BY ts`,
    );
    const seriesKey = { symbol: 'NVDA', ...key } as SeriesKey;
    // The same range again without its middle bar: IBKR no longer reports it.
    const range = { start: bars[0].ts, end: (bars.at(-1) as RawBar).ts + 1 };
    await t.ws.barCache.store(
      seriesKey,
      [range],
      bars.filter((_, i) => i !== 5),
      Date.now(),
    );
    expect((await indicatorsOf(wh, 'NVDA')).every((v) => Number.isNaN(v))).toBe(true);
    expect((await indicatorsOf(wh, 'TSLA')).some((v) => !Number.isNaN(v))).toBe(true);
    // Storing the same bars again (nothing went) keeps what the next run writes.
    expect((await t.ws.runs.pipeline.trigger(params).done).status).toBe('succeeded');
    await t.ws.barCache.store(
      seriesKey,
      [range],
      bars.filter((_, i) => i !== 5),
      Date.now(),
    );
    expect((await indicatorsOf(wh, 'NVDA')).some((v) => !Number.isNaN(v))).toBe(true);
  });
});

/** Opens the stores of a stopped workstation's data folder long enough to sweep its indicator files. */
async function sweepAt(dataDir: string): Promise<void> {
  const stores = await openStores(dataDir, ALL_MIGRATIONS);
  try {
    await sweepIndicatorFiles(stores.warehouse);
  } finally {
    await stores.close();
  }
}

describe('indicator write-back checksum', () => {
  it('covers the source of every function the indicator values are computed by', () => {
    const source = readFileSync(new URL('../../core/pipeline/indicators.ts', import.meta.url), 'utf8');
    const functions = [...source.matchAll(/^(?:export )?function (\w+)/gm)].map((m) => m[1]);
    expect(functions).toContain('computeIndicators');
    expect(functions.length).toBeGreaterThan(1);
    for (const name of functions) expect(INDICATOR_FORMULAS).toMatch(new RegExp(`function ${name}\\(`));
  });
});
