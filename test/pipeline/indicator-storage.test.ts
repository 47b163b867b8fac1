import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { callOrThrow } from '../../core/api';
import { readFloat64Columns } from '../../core/marketdata/columns';
import { marketdataWarehouseMigrations } from '../../core/marketdata/schema';
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
    // A bar that lost its row (deleted elsewhere) makes that series, and only it, be written again.
    await wh.run(`DELETE FROM bar_indicators WHERE ts = (SELECT max(ts) FROM bar_indicators) AND series_id = 1`);
    expect(await writeBackIndicators(wh, tail, SEL)).toBe(150);
    const [{ again }] = await wh.rows<{ again: number }>('SELECT count(*)::INTEGER AS again FROM bar_indicators');
    expect(again).toBe(800);
  });

  it('moves indicators a cache held in bars.indicators before marketdata/0003 into bar_indicators', async () => {
    const before = MIGRATIONS.filter((m) => !/^marketdata\/000[345]_/.test(m.id));
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
    const before = MIGRATIONS.filter((m) => !/^marketdata\/0005_/.test(m.id));
    const wh = await openWarehouse(before);
    await seedBars(wh, ['AAA'], 3000);
    const series = await compute(wh, ['AAA']);
    expect(await writeBackIndicators(wh, series, SEL)).toBe(3000);
    await wh.checkpoint();
    // Before 0005 DuckDB picks a compression of its own for the full-precision doubles.
    expect((await compressionOf(wh)).some((c) => c.compression.some((k) => k !== 'Uncompressed' && k !== 'Constant'))).toBe(true);

    await wh.migrate(MIGRATIONS);
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

describe('indicator write-back checksum', () => {
  it('covers the source of every function the indicator values are computed by', () => {
    const source = readFileSync(new URL('../../core/pipeline/indicators.ts', import.meta.url), 'utf8');
    const functions = [...source.matchAll(/^(?:export )?function (\w+)/gm)].map((m) => m[1]);
    expect(functions).toContain('computeIndicators');
    expect(functions.length).toBeGreaterThan(1);
    for (const name of functions) expect(INDICATOR_FORMULAS).toMatch(new RegExp(`function ${name}\\(`));
  });
});
