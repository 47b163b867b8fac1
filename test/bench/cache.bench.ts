/**
 * Bar cache benches (issue 3):
 * (a) warm refresh of 50 symbols × 1 year of daily bars, 300 ms simulated latency per request, against
 *     the simulated gateway: wall time / (one request × ceil(50 / allowed concurrency)) and the number of
 *     IBKR requests; baseline: a naive full-range re-fetch of the same symbols.
 * (b) reading 1,000,000 one-minute bars of one symbol into Float64Array columns vs DuckDB's own time for
 *     the same query (run + every chunk fetched, no conversion).
 * (c) first paint of 100,000 candles on the Market Data page in Chromium, click → drawn.
 */
import type { RawBar } from '../../core/ibkr/types';
import type { Figure } from './figure';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Deterministic one-minute bars: 390 per weekday session, consecutive trading days back from `end`. */
export function syntheticMinuteBars(count: number, end = Date.UTC(2026, 0, 2)): RawBar[] {
  const bars: RawBar[] = new Array(count);
  let day = Math.floor(end / 86_400_000) - 1;
  let i = count - 1;
  let price = 100;
  while (i >= 0) {
    const dow = new Date(day * 86_400_000).getUTCDay();
    if (dow !== 0 && dow !== 6) {
      const open = day * 86_400_000 + 14.5 * 3_600_000;
      for (let m = 389; m >= 0 && i >= 0; m--, i--) {
        price += Math.sin(i * 0.37) * 0.05;
        const p = Math.round(price * 100) / 100; // prices in cents, as IBKR sends them
        bars[i] = {
          ts: open + m * 60_000,
          open: p,
          high: Math.round((p + 0.1) * 100) / 100,
          low: Math.round((p - 0.1) * 100) / 100,
          close: Math.round((p + 0.02) * 100) / 100,
          volume: 1000 + (i % 500),
          wap: p,
          count: 10,
        };
      }
    }
    day--;
  }
  return bars;
}

export async function benchColumnRead(): Promise<Figure> {
  const { openTestWorkstation } = await import('../support/workstation');
  const t = await openTestWorkstation({}, { start: false });
  try {
    const cache = t.ws.barCache;
    const key = cache.seriesKey('BENCH', '1 min');
    const bars = syntheticMinuteBars(1_000_000);
    const range = { start: bars[0].ts, end: bars[bars.length - 1].ts + 60_000 };
    await cache.store(key, [range], bars, Date.UTC(2026, 0, 3));
    bars.length = 0;

    const conn = t.ws.stores.warehouse.connection;
    const sql = `SELECT epoch_ms(ts)::DOUBLE, open, high, low, close, volume FROM bars
      WHERE symbol = $symbol AND exchange = $exchange AND data_type = $dataType AND bar_size = $barSize AND use_rth = $useRTH
        AND ts >= epoch_ms(CAST($from AS BIGINT)) AND ts < epoch_ms(CAST($to AS BIGINT)) ORDER BY ts`;
    const params = { ...key, from: range.start, to: range.end };
    const queryOnly = async () => {
      const t0 = performance.now();
      const result = await conn.run(sql, params);
      let rows = 0;
      for (let i = 0; i < result.chunkCount; i++) rows += result.getChunk(i).rowCount;
      const ms = performance.now() - t0;
      if (rows !== 1_000_000) throw new Error(`query returned ${rows} rows`);
      return ms;
    };
    const toColumns = async () => {
      const t0 = performance.now();
      const { columns } = await cache.read(key, range);
      const ms = performance.now() - t0;
      if (columns.close.length !== 1_000_000) throw new Error(`read returned ${columns.close.length} rows`);
      return ms;
    };
    await queryOnly();
    await toColumns();
    const q: number[] = [];
    const c: number[] = [];
    for (let i = 0; i < 7; i++) {
      q.push(await queryOnly());
      c.push(await toColumns());
    }
    const value = median(c);
    const baseline = median(q);
    return {
      name: 'cache read 1M one-minute bars into Float64Array columns',
      value,
      unit: 'ms',
      baseline: { name: 'DuckDB query alone, same SQL, every chunk visited, no conversion', value: baseline, unit: 'ms' },
      ratio: value / baseline,
      target: 'ratio ≤ 1.6',
    };
  } finally {
    await t.dispose();
  }
}

const LATENCY_MS = 300;
const SYMBOLS = 50;
/** PacingLimiter's default cap on simultaneous historical requests (what production runs with). */
const ALLOWED_CONCURRENCY = 6;

export async function benchWarmRefresh(): Promise<Figure[]> {
  const { openCacheRig, DAY, HOUR } = await import('../marketdata/rig');
  const { runRefresh } = await import('../../core/marketdata');
  const symbols = Array.from({ length: SYMBOLS }, (_, i) => `S${String(i).padStart(3, '0')}`);
  const refresh = async (rig: Awaited<ReturnType<typeof openCacheRig>>) => {
    const before = rig.requests();
    const t0 = performance.now();
    const summary = await runRefresh(
      rig.cache,
      { symbols, daysBack: 365, barSize: '1 day', dataType: 'TRADES', useRTH: true },
      { jobId: 'bench', clock: rig.clock, onProgress: () => undefined },
    );
    const ms = performance.now() - t0;
    if (summary.failed.length > 0) throw new Error(`refresh failed: ${JSON.stringify(summary.failed[0])}`);
    return { ms, requests: rig.requests() - before, maxOpen: rig.limiter.stats.maxOpen };
  };

  // Warm: a full year cached yesterday; today only the stale tail (plus the day since) is asked for.
  const warmRig = await openCacheRig();
  let warm: Awaited<ReturnType<typeof refresh>>;
  try {
    await refresh(warmRig); // the cold fill (not measured)
    warmRig.sim.set({ latencyMs: LATENCY_MS });
    await warmRig.clock.advance(DAY + 2 * HOUR);
    warm = await refresh(warmRig);
  } finally {
    await warmRig.dispose();
  }
  // Naive: the same refresh re-fetching the whole year for every symbol (cache bypassed).
  const naiveRig = await openCacheRig({ sim: { latencyMs: LATENCY_MS }, env: { CACHE_ENABLED: 'false' } });
  let naive: Awaited<ReturnType<typeof refresh>>;
  try {
    await naiveRig.clock.advance(DAY + 2 * HOUR);
    naive = await refresh(naiveRig);
  } finally {
    await naiveRig.dispose();
  }
  if (warm.maxOpen > ALLOWED_CONCURRENCY) throw new Error(`pacer allowed ${warm.maxOpen} open requests`);
  const ideal = LATENCY_MS * Math.ceil(SYMBOLS / ALLOWED_CONCURRENCY);
  const idealBaseline = {
    name: `one request (${LATENCY_MS} ms) × ceil(${SYMBOLS}/${ALLOWED_CONCURRENCY} allowed concurrent)`,
    value: ideal,
    unit: 'ms',
  };
  return [
    {
      name: `warm refresh ${SYMBOLS} symbols × 1 year daily, ${LATENCY_MS} ms latency: wall time`,
      value: warm.ms,
      unit: 'ms',
      baseline: idealBaseline,
      ratio: warm.ms / ideal,
      target: 'ratio ≤ 1.5',
    },
    {
      name: `naive full-range re-fetch ${SYMBOLS} symbols × 1 year daily, ${LATENCY_MS} ms latency: wall time`,
      value: naive.ms,
      unit: 'ms',
      baseline: idealBaseline,
      ratio: naive.ms / ideal,
      target: 'baseline for the line above',
    },
    {
      name: `warm refresh ${SYMBOLS} symbols: IBKR historical requests`,
      value: warm.requests,
      unit: 'requests',
      baseline: { name: 'naive full-range re-fetch', value: naive.requests, unit: 'requests' },
      ratio: warm.requests / naive.requests,
      target: `value = ${SYMBOLS} (one per symbol)`,
    },
  ];
}

const CANDLES = 100_000;

export async function benchFirstPaint(): Promise<Figure> {
  const { existsSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const { RENDERER_DIR } = await import('../../core/cli/commands/serve');
  if (!existsSync(`${RENDERER_DIR}/index.html`)) {
    const built = spawnSync(
      process.execPath,
      ['node_modules/vite/bin/vite.js', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'],
      {
        stdio: 'inherit',
      },
    );
    if (built.status !== 0) throw new Error('building the renderer for the first-paint bench failed');
  }
  const { startServedApp } = await import('../e2e/support');
  const app = await startServedApp({ env: { CACHE_SYMBOLS: 'AAA' }, path: 'market-data' });
  try {
    const cache = app.ws.barCache;
    const bars = syntheticMinuteBars(CANDLES, Date.now());
    await cache.store(
      cache.seriesKey('BIG', '1 min'),
      [{ start: bars[0].ts, end: bars[CANDLES - 1].ts + 60_000 }],
      bars,
      Date.now(),
    );
    const { page } = app;
    await page.reload();
    await page.waitForSelector('[data-testid="cache-row-BIG"]');
    await page.click('[data-testid="cache-row-AAA"]');
    await page.selectOption('[data-testid="range-picker"]', 'ALL');
    await page.waitForSelector('[data-testid="chart"][data-chart-ready="true"]');
    const paints: number[] = [];
    const bridges: number[] = [];
    for (let round = 0; round < 3; round++) {
      await page.click('[data-testid="cache-row-AAA"]');
      await page.waitForSelector('[data-testid="chart"][data-chart-ready="true"][data-bars="0"]');
      await page.evaluate(() => {
        document.addEventListener('click', () => ((window as unknown as { clickedAt: number }).clickedAt = performance.now()), {
          capture: true,
          once: true,
        });
      });
      await page.click('[data-testid="cache-row-BIG"]');
      await page.waitForSelector(`[data-testid="chart"][data-chart-ready="true"][data-bars="${CANDLES}"]`, { timeout: 30_000 });
      paints.push(
        await page.evaluate(() => {
          const el = document.querySelector('[data-testid="chart"]') as HTMLElement;
          return Number(el.dataset.drawnAt) - (window as unknown as { clickedAt: number }).clickedAt;
        }),
      );
      // Baseline: the same bars over the bridge alone (HTTP call + JSON parse), from the same page.
      bridges.push(
        await page.evaluate(async (token) => {
          const t0 = performance.now();
          const res = await fetch('/api/call/cache.get', {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ symbol: 'BIG', barSize: '1 min' }),
          });
          const body = await res.json();
          if (body.result.count !== 100_000) throw new Error(`bridge returned ${body.result.count} bars`);
          return performance.now() - t0;
        }, app.token),
      );
    }
    const ms = median(paints);
    const bridge = median(bridges);
    return {
      name: `Market Data page: first paint of ${CANDLES.toLocaleString('en-US')} candles in Chromium, click → drawn`,
      value: ms,
      unit: 'ms',
      baseline: { name: 'the same bars over the HTTP bridge alone (call + JSON parse)', value: bridge, unit: 'ms' },
      ratio: ms / bridge,
      target: 'value ≤ 1000 ms',
    };
  } finally {
    await app.close();
  }
}

export async function run(): Promise<Figure[]> {
  const figures: Figure[] = [];
  figures.push(...(await benchWarmRefresh()));
  figures.push(await benchColumnRead());
  figures.push(await benchFirstPaint());
  return figures;
}
