import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callOrThrow } from '../../core/api';
import { INDICATOR_NAMES } from '../../core/pipeline';
import { eventually, openPipelineWorkstation, type PipelineWorkstation } from './support';

const RANGE = { from: '2025-06-02', to: '2025-09-02' };

let t: PipelineWorkstation | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

function notices(w: PipelineWorkstation) {
  return w.events
    .filter((e) => e.name === 'system.notice')
    .map((e) => e.payload as { level: string; title: string; message: string });
}

describe('a live pipeline run against the simulated gateway', () => {
  it('pulls bars through the cache, checks and enriches them, and records everything about the run', async () => {
    t = await openPipelineWorkstation();
    const { runId, done } = t.ws.runs.pipeline.trigger({ symbols: ['NVDA', 'TSLA'], ...RANGE });
    const outcome = await done;
    expect(outcome).toEqual({ runId, status: 'succeeded', error: null });

    const run = t.ws.runs.tracker.get(runId);
    expect(run.trigger).toBe('manual');
    expect(run.tags.debug_mode).toBe('false');
    expect(run.tags.data_source).toBe('cache+ibkr');
    expect(run.tags.environment).toBeTruthy();
    expect(run.tasks.map((x) => [x.task, x.status])).toEqual([
      ['preflight', 'succeeded'],
      ['extract', 'succeeded'],
      ['validate', 'succeeded'],
      ['transform', 'succeeded'],
      ['record', 'succeeded'],
    ]);
    const rows = run.latestMetrics.rows;
    expect(rows).toBeGreaterThan(100);
    expect(run.latestMetrics['rows.NVDA'] + run.latestMetrics['rows.TSLA']).toBe(rows);
    expect(run.latestMetrics.checks_failed).toBe(0);
    expect(run.latestMetrics.checks_passed).toBeGreaterThan(10);
    expect(run.latestMetrics.cache_hit_rate).toBe(0);
    expect(run.latestMetrics['duration_ms.extract']).toBeGreaterThanOrEqual(0);
    expect(t.sim.stats.historicalRequests).toBeGreaterThan(0);

    // Lineage: every row came from IBKR on this first run.
    const lineage = (run.outputs.lineage as { symbol: string; rowsFromIbkr: number }[]).map((l) => [l.symbol, l.rowsFromIbkr]);
    expect(lineage).toEqual([
      ['NVDA', run.latestMetrics['rows.NVDA']],
      ['TSLA', run.latestMetrics['rows.TSLA']],
    ]);
    // The warm-up bars before the range were fetched by this run too, and the lineage says so.
    const warm = (run.outputs.lineage as { warmup: { rowsFromIbkr: number; fetchedRanges: unknown[] } | null }[]).map(
      (l) => l.warmup,
    );
    expect(warm.every((w) => w !== null && w.rowsFromIbkr >= 200 && w.fetchedRanges.length > 0)).toBe(true);
    expect(run.latestMetrics.warmup_rows_from_ibkr).toBe(warm.reduce((n, w) => n + (w?.rowsFromIbkr ?? 0), 0));

    // Indicators are written back into the cache: every bar has them, as bars_with_indicators shows.
    const [withIndicators] = await t.ws.stores.warehouse.rows<{ n: number; rsi: number | null }>(
      `SELECT count(*) FILTER (WHERE indicators IS NOT NULL)::INTEGER AS n,
              max((indicators->>'$.rsi_14')::DOUBLE) AS rsi FROM bars_with_indicators WHERE symbol IN ('NVDA', 'TSLA')`,
    );
    expect(withIndicators.n).toBe(rows);
    expect(run.latestMetrics.indicator_rows_written).toBe(rows);
    expect(withIndicators.rsi).toBeGreaterThan(0);
    expect(withIndicators.rsi).toBeLessThanOrEqual(100);

    // Artifacts: CSV sample, validation report, Parquet of the transformed data, each checksummed.
    const artifacts = t.ws.runs.tracker.artifacts({ runId });
    expect(artifacts.map((a) => a.name).sort()).toEqual(['data_sample.csv', 'transformed.parquet', 'validation_report.json']);
    for (const a of artifacts) {
      expect(a.status).toBe('stored');
      expect(a.path.startsWith(join(t.dataDir, 'artifacts', runId))).toBe(true);
      expect(existsSync(a.path)).toBe(true);
      expect(a.checksum).toMatch(/^[0-9a-f]{64}$/);
    }
    const parquet = artifacts.find((a) => a.kind === 'parquet');
    const preview = await callOrThrow(t.ws.dispatcher, 'artifacts.preview', { id: parquet?.id as number, limit: 5 });
    expect(preview.format).toBe('table');
    expect(preview.columns).toContain('macd_signal');
    expect(preview.rows).toHaveLength(5);
    expect(preview.totalRows).toBe(rows);
    expect(preview.truncated).toBe(true);
    const csv = await callOrThrow(t.ws.dispatcher, 'artifacts.preview', {
      id: artifacts.find((a) => a.kind === 'csv')?.id as number,
      limit: 3,
    });
    expect(csv.columns.slice(0, 3)).toEqual(['symbol', 'ts', 'open']);
    expect(csv.rows).toHaveLength(3);
    expect(csv.totalRows).toBe(Math.min(50, run.latestMetrics['rows.NVDA']) + Math.min(50, run.latestMetrics['rows.TSLA']));
    const all = await callOrThrow(t.ws.dispatcher, 'artifacts.preview', { id: parquet?.id as number, all: true });
    expect(all.rows).toHaveLength(rows);
    expect(all.truncated).toBe(false);
    // It holds exactly what bars_with_indicators shows for the run's bars (written from the run's arrays, not read
    // back through the view): the same rows, values, NULL warm-ups and column types, by symbol then ts.
    const wh = t.ws.stores.warehouse;
    const file = `read_parquet('${(parquet?.path ?? '').replace(/'/g, "''")}')`;
    const view = `SELECT symbol, ts, open, high, low, close, volume, ${INDICATOR_NAMES.map((k) => `"${k}"`).join(', ')}
      FROM bars_with_indicators WHERE symbol IN ('NVDA', 'TSLA') AND bar_size = '1 day'
       AND ts >= TIMESTAMP '${RANGE.from}' AND ts < TIMESTAMP '${RANGE.to}'`;
    const [diff] = await wh.rows<{ inFile: number; onlyFile: number; onlyView: number }>(
      `SELECT (SELECT count(*) FROM ${file})::INTEGER AS "inFile",
              (SELECT count(*) FROM (SELECT * FROM ${file} EXCEPT ALL ${view}))::INTEGER AS "onlyFile",
              (SELECT count(*) FROM (${view} EXCEPT ALL SELECT * FROM ${file}))::INTEGER AS "onlyView"`,
    );
    expect(diff).toEqual({ inFile: rows, onlyFile: 0, onlyView: 0 });
    const types = async (sql: string) =>
      (await wh.rows<{ column_name: string; column_type: string }>(`DESCRIBE ${sql}`)).map(
        (c) => `${c.column_name} ${c.column_type}`,
      );
    expect(await types(`SELECT * FROM ${file}`)).toEqual(await types(view));
    const order = await wh.rows<{ symbol: string; ms: number }>(`SELECT symbol, epoch_ms(ts) AS ms FROM ${file}`);
    const before = (a: (typeof order)[number], b: (typeof order)[number]) =>
      a.symbol < b.symbol || (a.symbol === b.symbol && a.ms < b.ms);
    expect(order.every((r, i) => i === 0 || before(order[i - 1], r))).toBe(true);
    // "Save a copy": into a new folder; a folder that cannot exist is refused at once, naming it (Node's
    // recursive mkdir spun forever on such paths).
    const copyDir = join(t.dataDir, 'copies', 'nested');
    const copied = await callOrThrow(t.ws.dispatcher, 'artifacts.saveCopy', { id: parquet?.id as number, directory: copyDir });
    expect(existsSync(copied.path)).toBe(true);
    const refused = await t.ws.dispatcher.call('artifacts.saveCopy', { id: parquet?.id as number, directory: '/proc/nope/x' });
    expect(refused.ok ? null : [refused.error.status, refused.error.message]).toEqual([
      400,
      'Cannot create the folder /proc/nope: this filesystem does not allow creating it',
    ]);
    // A folder that exists but takes no files (sysfs refuses even root) is a 400 naming it, not a 500.
    const unwritable = await t.ws.dispatcher.call('artifacts.saveCopy', { id: parquet?.id as number, directory: '/sys/kernel' });
    expect(unwritable.ok ? null : [unwritable.error.status, unwritable.error.message]).toEqual([
      400,
      'directory "/sys/kernel" is not writable by you',
    ]);
    const report = JSON.parse(readFileSync(artifacts.find((a) => a.name === 'validation_report.json')?.path as string, 'utf8'));
    expect(report.passed).toBe(true);
    expect(report.symbols.map((s: { symbol: string }) => s.symbol)).toEqual(['NVDA', 'TSLA']);

    // Logs are structured, per task and attempt, and were announced live.
    const logs = t.ws.runs.tracker.logs(runId, { task: 'extract' });
    expect(logs.some((l) => l.message.startsWith('NVDA:') && l.fields?.lineage)).toBe(true);
    expect(t.events.some((e) => e.name === 'runs.log')).toBe(true);
    expect(t.events.filter((e) => e.name === 'runs.updated').length).toBeGreaterThanOrEqual(11);

    // A second run is served from the cache.
    const second = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA', 'TSLA'], ...RANGE }).done;
    expect(second.status).toBe('succeeded');
    expect(t.ws.runs.tracker.get(second.runId).latestMetrics.cache_hit_rate).toBe(1);
    // Same bars, same indicators: nothing is rewritten.
    expect(t.ws.runs.tracker.get(second.runId).latestMetrics.indicator_rows_written).toBe(0);
  });

  it('says a weekend range holds no trading day, rather than only "no bars"', async () => {
    t = await openPipelineWorkstation();
    const outcome = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA'], from: '2025-06-07', to: '2025-06-09' }).done;
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/no bars for any of NVDA — 2025-06-07 to 2025-06-09 holds no NYSE trading day/);
  });

  it('carries on without a symbol IBKR does not know, tagging it as missing', async () => {
    t = await openPipelineWorkstation();
    const outcome = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA', 'NOSUCH'], ...RANGE }).done;
    expect(outcome.status).toBe('succeeded');
    const run = t.ws.runs.tracker.get(outcome.runId);
    expect(run.tags.missing_symbols).toBe('NOSUCH');
    expect(run.latestMetrics.missing_symbols).toBe(1);
    const warnings = t.ws.runs.tracker.logs(outcome.runId, { level: 'warn' });
    expect(warnings.some((w) => w.message.startsWith('NOSUCH: no data'))).toBe(true);
  });

  it('fails pre-flight with a clear reason when IBKR is down, while a debug run replays from the cache', async () => {
    t = await openPipelineWorkstation();
    const warm = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA'], ...RANGE }).done;
    expect(warm.status).toBe('succeeded');
    await t.sim.stop();
    await eventually(() => t?.ws.ibkr.status().state !== 'connected', 10_000, 'IBKR to notice the gateway is gone');

    const live = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA'], ...RANGE }).done;
    expect(live.status).toBe('failed');
    expect(live.error).toMatch(/^preflight failed: IBKR is not reachable/);
    const liveRun = t.ws.runs.tracker.get(live.runId);
    expect(liveRun.attempts.filter((a) => a.task === 'preflight')).toHaveLength(1);
    expect(liveRun.tasks.find((x) => x.task === 'extract')?.status).toBe('skipped');
    expect(notices(t).some((n) => n.level === 'error' && n.message.includes(live.runId))).toBe(true);

    const requestsBefore = t.sim.stats.historicalRequests;
    const debug = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA'], ...RANGE, debug: true }).done;
    expect(debug.status).toBe('succeeded');
    const debugRun = t.ws.runs.tracker.get(debug.runId);
    expect(debugRun.tags.debug_mode).toBe('true');
    expect(debugRun.tags.data_source).toBe('cache');
    expect(debugRun.latestMetrics.rows).toBe(t.ws.runs.tracker.get(warm.runId).latestMetrics.rows);
    expect(t.sim.stats.historicalRequests).toBe(requestsBefore);
    expect(t.ws.runs.tracker.logs(debug.runId, { task: 'preflight' }).some((l) => l.message.includes('IBKR check skipped'))).toBe(
      true,
    );
    expect(t.ws.runs.tracker.logs(debug.runId, { level: 'debug' }).some((l) => l.level === 'debug')).toBe(true);
    const summary = t.ws.runs.tracker.artifacts({ runId: debug.runId }).find((a) => a.name === 'debug_summary.json');
    const parsed = JSON.parse(readFileSync(summary?.path as string, 'utf8'));
    expect(parsed.steps.preflight.ibkr).toMatch(/skipped/);
    expect(parsed.debugMode).toEqual({ thisRun: true, because: 'the run was started in debug mode' });
    expect(parsed.steps.extract.symbols[0].rows).toBeGreaterThan(0);
    expect(parsed.config.WEBHOOK_SECRET === '' || parsed.config.WEBHOOK_SECRET === '********').toBe(true);
  });

  it('starts the indicators from the bars before the range: a short run has them from its first bar and agrees with a long one', async () => {
    t = await openPipelineWorkstation();
    const june = { symbols: ['NVDA'], from: '2025-06-02', to: '2025-07-01' };
    expect((await t.ws.runs.pipeline.trigger(june).done).status).toBe('succeeded');
    const read = () =>
      t?.ws.stores.warehouse.rows<{ day: string; sma_50: number | null; macd: number | null; rsi_14: number | null }>(
        `SELECT strftime(ts, '%Y-%m-%d') AS day, sma_50, macd, rsi_14 FROM bars_with_indicators
          WHERE symbol = 'NVDA' AND ts >= TIMESTAMP '2025-06-02' AND ts < TIMESTAMP '2025-07-01' ORDER BY ts`,
      ) as Promise<{ day: string; sma_50: number | null; macd: number | null; rsi_14: number | null }[]>;
    const short = await read();
    expect(short[0].day).toBe('2025-06-02');
    for (const r of short) for (const v of [r.sma_50, r.macd, r.rsi_14]) expect(v, r.day).not.toBeNull();

    expect((await t.ws.runs.pipeline.trigger({ ...june, from: '2025-01-02' }).done).status).toBe('succeeded');
    const long = await read();
    expect(long.map((r) => r.day)).toEqual(short.map((r) => r.day));
    for (let i = 0; i < long.length; i++) {
      expect(long[i].sma_50).toBeCloseTo(short[i].sma_50 as number, 9);
      expect(long[i].macd).toBeCloseTo(short[i].macd as number, 5);
      expect(long[i].rsi_14).toBeCloseTo(short[i].rsi_14 as number, 6);
    }
  });

  it('refuses a live run up front while DEBUG_MODE is on, naming the setting', async () => {
    t = await openPipelineWorkstation({ env: { DEBUG_MODE: 'true' } });
    await expect(callOrThrow(t.ws.dispatcher, 'runs.trigger', { symbols: ['NVDA'], debug: false })).rejects.toMatchObject({
      code: 'DEBUG_MODE_ON',
      message: expect.stringContaining('turn DEBUG_MODE off'),
    });
    expect(t.ws.runs.tracker.list({}).total).toBe(0);
  });

  it('fails the run on bad data, attaches the validation report and does not retry a quality failure', async () => {
    t = await openPipelineWorkstation();
    expect((await t.ws.runs.pipeline.trigger({ symbols: ['NVDA'], ...RANGE }).done).status).toBe('succeeded');
    await t.ws.stores.warehouse.run(
      // A bar inside the run's range (the cache also holds the warm-up bars before it).
      `UPDATE bars SET high = low - 1 WHERE symbol = 'NVDA' AND ts = (SELECT min(ts) + INTERVAL 7 DAY FROM bars WHERE symbol = 'NVDA' AND ts >= TIMESTAMP '${RANGE.from}')`,
    );
    const bad = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA'], ...RANGE, debug: true }).done;
    expect(bad.status).toBe('failed');
    expect(bad.error).toMatch(/validate failed: data quality checks failed for NVDA \(high_ge_open_close\)/);
    const run = t.ws.runs.tracker.get(bad.runId);
    expect(run.attempts.filter((a) => a.task === 'validate')).toHaveLength(1);
    expect(run.tasks.map((x) => x.status)).toEqual(['succeeded', 'succeeded', 'failed', 'skipped', 'skipped']);
    expect(run.latestMetrics.checks_failed).toBe(1);
    const report = t.ws.runs.tracker.artifacts({ runId: bad.runId }).find((a) => a.name === 'validation_report.json');
    const parsed = JSON.parse(readFileSync(report?.path as string, 'utf8'));
    expect(parsed.passed).toBe(false);
    const check = parsed.symbols[0].checks.find((c: { check: string }) => c.check === 'high_ge_open_close');
    expect(check).toMatchObject({ passed: false, failures: 1, severity: 'error' });
    expect(notices(t).some((n) => n.title === 'Pipeline run failed')).toBe(true);
  });

  it('keeps artifacts in the spool when the artifacts folder is not writable, and moves them later', async () => {
    t = await openPipelineWorkstation();
    // A file where the folder should be: every write there fails (even as root).
    rmSync(join(t.dataDir, 'artifacts'), { recursive: true, force: true });
    writeFileSync(join(t.dataDir, 'artifacts'), 'not a folder');
    const outcome = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA'], ...RANGE }).done;
    expect(outcome.status).toBe('succeeded');
    const spooled = t.ws.runs.tracker.artifacts({ runId: outcome.runId });
    expect(spooled).toHaveLength(3);
    for (const a of spooled) {
      expect(a.status).toBe('spooled');
      expect(a.path.startsWith(join(t.dataDir, 'spool'))).toBe(true);
    }
    expect(t.ws.runs.tracker.logs(outcome.runId, { level: 'warn' }).some((l) => l.message.includes('kept in the spool'))).toBe(
      true,
    );

    rmSync(join(t.dataDir, 'artifacts'));
    expect(await t.ws.runs.artifacts.drainSpool()).toEqual({ moved: 3, remaining: 0 });
    for (const a of t.ws.runs.tracker.artifacts({ runId: outcome.runId })) {
      expect(a.status).toBe('stored');
      expect(existsSync(a.path)).toBe(true);
    }
  });

  it('fails with the store named when the warehouse goes away during a run, after retrying', async () => {
    t = await openPipelineWorkstation();
    const w = t;
    const off = w.ws.runs.tracker.onEvent((e) => {
      if (e.kind === 'updated' && e.task === 'validate' && e.taskStatus === 'running') void w.ws.stores.warehouse.close();
    });
    const outcome = await w.ws.runs.pipeline.trigger({ symbols: ['NVDA'], ...RANGE }).done;
    off();
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(/transform failed: .*warehouse/i);
    const run = w.ws.runs.tracker.get(outcome.runId);
    expect(run.attempts.filter((a) => a.task === 'transform').map((a) => a.status)).toEqual(['failed', 'failed', 'failed']);
    expect(run.status).toBe('failed');
  });

  it('runs one at a time: a second trigger is refused, and a cancel is recorded', async () => {
    t = await openPipelineWorkstation({ sim: { latencyMs: 150 } });
    const first = t.ws.runs.pipeline.trigger({ symbols: ['NVDA', 'TSLA'], ...RANGE });
    await expect(callOrThrow(t.ws.dispatcher, 'runs.trigger', { symbols: ['NVDA'] })).rejects.toMatchObject({
      code: 'RUN_IN_PROGRESS',
      message: expect.stringContaining(first.runId),
    });
    // Bad params are named even while a run is in progress.
    await expect(callOrThrow(t.ws.dispatcher, 'runs.trigger', { from: '2025-03-10', to: '2025-03-01' })).rejects.toMatchObject({
      code: 'BAD_RANGE',
    });
    const list = await callOrThrow(t.ws.dispatcher, 'runs.list', {});
    expect(list.current).toBe(first.runId);
    await eventually(
      () => t?.ws.runs.tracker.get(first.runId).tasks.some((x) => x.task === 'extract'),
      5_000,
      'extract to start',
    );
    expect(await callOrThrow(t.ws.dispatcher, 'runs.cancel', { runId: first.runId })).toEqual({ cancelled: true });
    const outcome = await first.done;
    expect(outcome.status).toBe('cancelled');
    const run = t.ws.runs.tracker.get(first.runId);
    expect(run.status).toBe('cancelled');
    expect(run.error).toMatch(/cancelled during extract/);
    expect(run.tasks.find((x) => x.task === 'extract')?.status).toBe('cancelled');
    // A cancel is the trader's decision: a warning in the run's log, not an error.
    const runLog = t.ws.runs.tracker.logs(first.runId, {});
    expect(runLog.find((l) => l.message === 'run cancelled')?.level).toBe('warn');
    // Afterwards a trigger works again.
    expect((await t.ws.runs.pipeline.trigger({ symbols: ['NVDA'], ...RANGE }).done).status).toBe('succeeded');
    // Bad ids and dates are named, not ignored.
    await expect(callOrThrow(t.ws.dispatcher, 'runs.cancel', { runId: 'no-such-run' })).rejects.toMatchObject({ status: 404 });
    await expect(callOrThrow(t.ws.dispatcher, 'runs.trigger', { from: '2025-02-30', to: '2025-03-10' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/from: no such day/),
    });
    await expect(callOrThrow(t.ws.dispatcher, 'artifacts.list', { since: 'garbage' })).rejects.toMatchObject({ status: 400 });
    await expect(callOrThrow(t.ws.dispatcher, 'runs.trigger', { from: '2999-01-01' })).rejects.toMatchObject({
      code: 'BAD_RANGE',
      message: expect.stringMatching(/^from \(2999-01-01\) must be before to \(\d{4}-\d{2}-\d{2}, the default: tomorrow\)$/),
    });
    for (const since of ['2025-13-45', '2025-02-30', '2025-01-05T25:00'])
      await expect(callOrThrow(t.ws.dispatcher, 'artifacts.list', { since })).rejects.toMatchObject({
        status: 400,
        message: expect.stringContaining('since'),
      });
    // Only run-id characters name a run: a NUL or a LIKE wildcard never reaches the short-id search.
    for (const runId of [`\u0000${first.runId.slice(-6)}`, '%%%%', '____'])
      await expect(callOrThrow(t.ws.dispatcher, 'runs.get', { runId })).rejects.toMatchObject({
        status: 400,
        message: expect.stringContaining('runId'),
      });
    // A day alone as `until` takes the whole day.
    const [newest] = (await callOrThrow(t.ws.dispatcher, 'artifacts.list', {})).artifacts;
    const day = newest.createdAt.slice(0, 10);
    const untilDay = (await callOrThrow(t.ws.dispatcher, 'artifacts.list', { until: day })).artifacts;
    expect(untilDay.map((a) => a.id)).toContain(newest.id);
  });

  it('a cancel during a task that cannot stop ends the run before the next task; during record it is refused', async () => {
    t = await openPipelineWorkstation();
    const { tracker, pipeline } = t.ws.runs;
    // Hold the warehouse's write queue when transform starts, so the run sits in transform's write-back.
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let inTransform = false;
    const off = tracker.onEvent((e) => {
      if (e.kind === 'updated' && e.task === 'transform' && e.taskStatus === 'running' && !inTransform) {
        inTransform = true;
        void t?.ws.stores.warehouse.transaction(() => held);
      }
    });
    const run = pipeline.trigger({ symbols: ['NVDA'], ...RANGE });
    await eventually(() => inTransform, 10_000, 'transform to start');
    expect(await callOrThrow(t.ws.dispatcher, 'runs.cancel', { runId: run.runId })).toEqual({ cancelled: true });
    release();
    off();
    const outcome = await run.done;
    expect(outcome.status).toBe('cancelled');
    expect(outcome.error).toMatch(/cancelled (during transform|after transform, before record): cancelled by the user/);
    const detail = tracker.get(run.runId);
    expect(detail.tasks.map((x) => x.task)).toEqual(['preflight', 'extract', 'validate', 'transform', 'record']);
    expect(detail.tasks.find((x) => x.task === 'record')?.status).toBe('skipped');
    const warnings = tracker.logs(run.runId, { level: 'warn' }).map((l) => l.message);
    expect(warnings).toContain('cancel requested by the user during transform');

    // In record the results are being written: the cancel is refused and says why; the run completes.
    let refused: boolean | null = null;
    const off2 = tracker.onEvent((e) => {
      if (e.kind === 'updated' && e.task === 'record' && e.taskStatus === 'running' && refused === null)
        refused = pipeline.cancel(e.runId);
    });
    const second = await pipeline.trigger({ symbols: ['NVDA'], ...RANGE }).done;
    off2();
    expect(refused).toBe(false);
    expect(second.status).toBe('succeeded');
    expect(tracker.logs(second.runId, { level: 'warn' }).map((l) => l.message)).toContain(
      'cancel requested by the user while the run records its results: too late, the run finishes',
    );
  });

  it('replays a past run from the cache and finds the same rows and checksums', async () => {
    t = await openPipelineWorkstation();
    const original = await t.ws.runs.pipeline.trigger({ symbols: ['NVDA', 'TSLA'], ...RANGE }).done;
    const requests = t.sim.stats.historicalRequests;
    const replay = t.ws.runs.pipeline.replay(original.runId);
    const outcome = await replay.done;
    expect(outcome.status).toBe('succeeded');
    const run = t.ws.runs.tracker.get(outcome.runId);
    expect(run.trigger).toBe('replay');
    expect(run.replayOf).toBe(original.runId);
    expect(run.tags).toMatchObject({ debug_mode: 'true', replay_of: original.runId, replay_match: 'true' });
    expect(t.sim.stats.historicalRequests).toBe(requests);
    const cmp = await callOrThrow(t.ws.dispatcher, 'runs.compare', { runIds: [original.runId, outcome.runId] });
    expect(cmp.sameData).toBe(true);
    expect(cmp.rows.find((r) => r.section === 'tags' && r.key === 'debug_mode')).toMatchObject({
      values: ['false', 'true'],
      differs: true,
    });
    expect(cmp.rows.find((r) => r.key === 'NVDA.checksum')?.differs).toBe(false);
  });
});
