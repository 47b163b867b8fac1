/**
 * The daily-bars workflow: preflight → extract → validate → transform → record, each task a
 * recorded task run with retries and backoff. One run at a time per workflow: a trigger while one
 * runs is refused (409) naming the run in progress. Debug runs read the cache only (offline replay).
 */
import { createHash } from 'node:crypto';
import { open, statfs } from 'node:fs/promises';
import { isRealDate } from '../api/runs';
import { isTradingDay } from '../calendar';
import { type Settings, settingDocs } from '../config';
import type { BarSize } from '../ibkr/types';
import { IbkrError } from '../ibkr/types';
import {
  BAR_FIELDS,
  type BarColumns,
  type BarLineage,
  type GetOrFetchOptions,
  type GetOrFetchResult,
  type SeriesKey,
} from '../marketdata/types';
import { AppError, backoffDelay, type Clock, errorMessage, type Logger } from '../platform';
import { type ArtifactStore, RunLog, type RunStatus, type RunTracker, type RunTrigger } from '../runs';
import type { Journal, Warehouse } from '../storage';
import { writeParts } from '../storage/parquet';
import { APP_VERSION } from '../version';
import { encodeTransformed, IndicatorWriteBack, type SeriesSelector } from './bars-io';
import { compareRuns } from './compare';
import { computeIndicatorsAfter, INDICATOR_NAMES, type IndicatorColumns } from './indicators';
import { barSizeMs, type SymbolReport, summarise, type ValidationReport, validateSymbol } from './validate';

export const WORKFLOW = 'daily-bars';
export const TASKS = ['preflight', 'extract', 'validate', 'transform', 'record'] as const;
export type TaskName = (typeof TASKS)[number];

/** Where a run is, for `cancel`: the task in progress and the run's log. */
interface RunProgress {
  task: TaskName | null;
  log: RunLog | null;
}

export interface PipelineParams {
  symbols: string[];
  /** ISO dates/times; `to` exclusive. */
  from: string;
  to: string;
  barSize: BarSize;
  exchange: string;
  debug: boolean;
}

export interface BarSourceLike {
  getOrFetch(symbol: string, from: number, to: number, barSize: BarSize, options?: GetOrFetchOptions): Promise<GetOrFetchResult>;
  seriesKey(symbol: string, barSize: BarSize, options?: GetOrFetchOptions): SeriesKey;
}

export interface IbkrHealthLike {
  health(): Promise<unknown>;
}

export interface PipelineDeps {
  warehouse: Warehouse;
  journal: Journal;
  tracker: RunTracker;
  artifacts: ArtifactStore;
  /** Resolved per run: the cache and the IBKR connection may be wired after the pipeline. */
  barCache: () => BarSourceLike | undefined;
  ibkr: () => IbkrHealthLike | undefined;
  settings: () => Settings;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  notify?: (notice: { level: 'info' | 'warn' | 'error'; title: string; message: string; link?: string }) => void;
  /** First retry delay (ms); doubled per attempt. */
  retryBaseMs?: number;
  minFreeBytes?: number;
}

export interface TriggerRequest {
  symbols?: string[];
  from?: string;
  to?: string;
  barSize?: BarSize;
  exchange?: string;
  debug?: boolean;
  trigger?: RunTrigger;
  replayOf?: string;
}

export interface RunOutcome {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  error: string | null;
}

interface SymbolData {
  symbol: string;
  bars: BarColumns;
  lineage: BarLineage;
  checksum: string;
  /** Up to WARMUP_BARS bars of the series before the range: the indicators start from them. */
  warmup: BarColumns | null;
  /** Where the warm-up bars came from (they may have been fetched from IBKR by this run). */
  warmupLineage: BarLineage | null;
  indicators?: IndicatorColumns;
}

/**
 * Bars before the range the indicators are started from: SMA 50 needs 49, and after 250 bars the seed of the
 * EMAs (MACD) and of Wilder's RSI weighs less than 1e-8 — a run's values no longer depend on where it starts.
 */
const WARMUP_BARS = 250;

interface RunContext {
  runId: string;
  params: PipelineParams;
  signal: AbortSignal;
  log: RunLog;
  selector: SeriesSelector | null;
  data: SymbolData[];
  missing: { symbol: string; reason: string }[];
  report: ValidationReport | null;
  updatedRows: number;
  durations: Partial<Record<TaskName, number>>;
  inspection: Record<string, unknown>;
}

/** A task failure that retrying cannot fix (bad data, failed pre-flight). */
class FatalTaskError extends AppError {}

const DAY_MS = 86_400_000;

export class Pipeline {
  private readonly deps: PipelineDeps;
  private readonly active = new Map<
    string,
    { runId: string; controller: AbortController; done: Promise<RunOutcome>; progress: RunProgress }
  >();
  /** First retry delay of a failed task (ms), doubled per attempt with jitter. */
  retryBaseMs: number;

  constructor(deps: PipelineDeps) {
    this.deps = deps;
    this.retryBaseMs = deps.retryBaseMs ?? 1000;
  }

  /** The run in progress, if any. */
  current(): { runId: string } | null {
    const a = this.active.get(WORKFLOW);
    return a ? { runId: a.runId } : null;
  }

  resolveParams(req: TriggerRequest): PipelineParams {
    const s = this.deps.settings();
    const now = this.deps.clock.now();
    const to = req.to ? parseDate(req.to, 'to') : Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
    const from = req.from ? parseDate(req.from, 'from') : to - 31 * DAY_MS;
    if (from >= to) {
      const day = (t: number) => new Date(t).toISOString().slice(0, 10);
      throw new AppError(
        'BAD_RANGE',
        `from (${req.from ?? day(from)}) must be before to (${req.to ?? `${day(to)}, the default: tomorrow`})`,
        { status: 400 },
      );
    }
    if (req.debug === false && s.DEBUG_MODE) {
      throw new AppError(
        'DEBUG_MODE_ON',
        'DEBUG_MODE is on, so Marketdesk is offline and reads the cache only: run in debug mode, or turn DEBUG_MODE off in Settings for a live run',
        { status: 409 },
      );
    }
    const symbols = (req.symbols && req.symbols.length > 0 ? req.symbols : s.CACHE_SYMBOLS).map((x) => x.trim().toUpperCase());
    return {
      symbols: [...new Set(symbols)],
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      barSize: req.barSize ?? '1 day',
      exchange: (req.exchange ?? s.CACHE_EXCHANGE).toUpperCase(),
      debug: req.debug ?? s.DEBUG_MODE,
    };
  }

  /** Starts a run and returns at once; `done` settles when it ends (it never rejects). */
  trigger(req: TriggerRequest = {}): { runId: string; done: Promise<RunOutcome> } {
    // Bad params are named first: waiting for the current run would not make them right.
    const params = this.resolveParams(req);
    const running = this.active.get(WORKFLOW);
    if (running) {
      throw new AppError(
        'RUN_IN_PROGRESS',
        `Run ${running.runId} of ${WORKFLOW} is still in progress; wait for it to finish or cancel it`,
        { status: 409, details: { runId: running.runId } },
      );
    }
    const settings = this.deps.settings();
    const runId = this.deps.tracker.startRun({
      workflow: WORKFLOW,
      trigger: req.trigger ?? 'manual',
      params: { ...params },
      tags: {
        environment: this.environment(),
        debug_mode: String(params.debug),
        // Where extract may read bars: the cache alone (debug replay), the cache then IBKR for what it lacks, or IBKR always.
        data_source: params.debug ? 'cache' : settings.CACHE_ENABLED ? 'cache+ibkr' : 'ibkr',
        app_version: APP_VERSION,
        ...(req.replayOf ? { replay_of: req.replayOf } : {}),
      },
      replayOf: req.replayOf ?? null,
    });
    const controller = new AbortController();
    const progress: RunProgress = { task: null, log: null };
    const done = this.execute(runId, params, controller.signal, progress).finally(() => this.active.delete(WORKFLOW));
    this.active.set(WORKFLOW, { runId, controller, done, progress });
    return { runId, done };
  }

  /**
   * Re-runs a past run from the cache with the same params (debug mode: nothing is fetched), then
   * compares row counts and checksums with the original and tags the replay `replay_match`.
   */
  replay(originalId: string): { runId: string; done: Promise<RunOutcome> } {
    const { tracker } = this.deps;
    const original = tracker.get(originalId);
    const p = original.params as Partial<PipelineParams>;
    const started = this.trigger({
      symbols: p.symbols,
      from: p.from,
      to: p.to,
      barSize: p.barSize,
      exchange: p.exchange,
      debug: true,
      trigger: 'replay',
      replayOf: originalId,
    });
    const done = started.done.then((outcome) => {
      try {
        const cmp = compareRuns([tracker.get(originalId), tracker.get(outcome.runId)]);
        tracker.setTags(outcome.runId, { replay_match: String(cmp.sameData) });
        const differences = cmp.rows.filter((r) => r.section === 'outputs' && r.differs).map((r) => r.key);
        tracker.log({
          runId: outcome.runId,
          level: cmp.sameData ? 'info' : 'warn',
          task: null,
          attempt: null,
          message: cmp.sameData
            ? `replay matches run ${originalId}: same row counts and checksums`
            : `replay differs from run ${originalId}${differences.length ? ` in ${differences.join(', ')}` : ''}`,
          fields: { originalId, differences },
        });
        tracker.flush();
      } catch (err) {
        this.deps.logger.warn('replay comparison failed', { error: errorMessage(err) });
      }
      return outcome;
    });
    return { runId: started.runId, done };
  }

  /**
   * Cancels the run in progress; returns false when that run is not running here, or when it is already
   * recording its results (the last task: stopping it would only leave them half written).
   */
  cancel(runId: string): boolean {
    const a = this.active.get(WORKFLOW);
    if (!a || a.runId !== runId) return false;
    if (a.progress.task === 'record') {
      a.progress.log?.warn('cancel requested by the user while the run records its results: too late, the run finishes');
      return false;
    }
    a.progress.log?.warn(`cancel requested by the user${a.progress.task ? ` during ${a.progress.task}` : ''}`);
    a.controller.abort(new AppError('CANCELLED', 'cancelled by the user', { status: 409 }));
    return true;
  }

  /** Waits for the run in progress (tests, shutdown). */
  async idle(): Promise<void> {
    await this.active.get(WORKFLOW)?.done;
  }

  /** Stops accepting work: cancels the run in progress and waits for it to record its end. */
  async stop(): Promise<void> {
    const a = this.active.get(WORKFLOW);
    if (!a) return;
    a.controller.abort(new AppError('CANCELLED', 'the app is stopping', { status: 409 }));
    await a.done;
  }

  private environment(): string {
    return process.env.NODE_ENV === 'production'
      ? 'production'
      : this.deps.dataDir.includes('marketdesk-test')
        ? 'test'
        : 'local';
  }

  private async execute(runId: string, params: PipelineParams, signal: AbortSignal, progress: RunProgress): Promise<RunOutcome> {
    const { tracker, settings } = this.deps;
    const log = new RunLog(tracker, runId, this.deps.logger.child({ component: 'pipeline' }), params.debug);
    progress.log = log;
    const ctx: RunContext = {
      runId,
      params,
      signal,
      log,
      selector: null,
      data: [],
      missing: [],
      report: null,
      updatedRows: 0,
      durations: {},
      inspection: {},
    };
    log.info('run started', { params, debug: params.debug });
    if (params.debug) log.info('DEBUG MODE: bars come from the cache only, nothing touches the network; logs are verbose');
    const retries = settings().PIPELINE_TASK_RETRIES;
    let status: Exclude<RunStatus, 'running'> = 'succeeded';
    let error: string | null = null;
    let skipFrom: number = TASKS.length;
    for (let i = 0; i < TASKS.length; i++) {
      const task = TASKS[i];
      // A cancel that came while the previous task could not stop (it finished anyway): this task never starts.
      if (signal.aborted) {
        status = 'cancelled';
        error = `cancelled after ${TASKS[i - 1] ?? 'start'}, before ${task}: ${errorMessage(signal.reason)}`;
        skipFrom = i;
        break;
      }
      progress.task = task;
      try {
        await this.runTask(ctx, task, retries);
      } catch (err) {
        skipFrom = i + 1;
        if (signal.aborted) {
          status = 'cancelled';
          error = `cancelled during ${task}: ${errorMessage(signal.reason)}`;
        } else {
          status = 'failed';
          error = `${task} failed: ${errorMessage(err)}`;
        }
        break;
      }
    }
    progress.task = null;
    for (const t of TASKS.slice(skipFrom)) tracker.skipTask(runId, t);
    // Whatever happened, the report, metrics and (debug) summary are kept with the run.
    await this.recordOutcome(ctx, status, error).catch((err) =>
      log.error('recording the run outcome failed', { error: errorMessage(err) }),
    );
    if (status === 'succeeded') log.info('run succeeded', { durationsMs: ctx.durations });
    else if (status === 'cancelled') log.warn('run cancelled', { error });
    else log.error(`run ${status}`, { error });
    tracker.finishRun(runId, status, error);
    if (status === 'failed') {
      this.deps.notify?.({
        level: 'error',
        title: 'Pipeline run failed',
        message: `${runId}: ${error}`,
        link: `#/runs?run=${runId}`,
      });
    }
    await this.deps.artifacts.drainSpool().catch(() => undefined);
    return { runId, status, error };
  }

  private async runTask(ctx: RunContext, task: TaskName, retries: number): Promise<void> {
    const { tracker } = this.deps;
    const started = this.deps.clock.now();
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1 && ctx.signal.aborted) throw ctx.signal.reason;
      tracker.startTask(ctx.runId, task, attempt);
      const log = ctx.log.forTask(task, attempt);
      try {
        log.debug(`${task} attempt ${attempt} started`);
        await this.tasks[task](ctx, log);
        tracker.finishTask(ctx.runId, task, attempt, 'succeeded');
        ctx.durations[task] = this.deps.clock.now() - started;
        return;
      } catch (err) {
        const aborted = ctx.signal.aborted;
        if (aborted) {
          // A cancel is the trader's decision, not an error of the task.
          log.warn(`${task} attempt ${attempt} cancelled: ${errorMessage(ctx.signal.reason)}`);
        } else {
          log.error(`${task} attempt ${attempt} failed: ${errorMessage(err)}`, {
            code: (err as AppError).code,
            ...(err instanceof AppError && err.details ? { details: err.details as Record<string, unknown> } : {}),
          });
        }
        tracker.finishTask(
          ctx.runId,
          task,
          attempt,
          aborted ? 'cancelled' : 'failed',
          errorMessage(aborted ? ctx.signal.reason : err),
        );
        ctx.durations[task] = this.deps.clock.now() - started;
        if (aborted || err instanceof FatalTaskError || attempt > retries) throw err;
        const delay = backoffDelay(attempt, { baseMs: this.retryBaseMs, maxMs: 30_000, jitter: 0.2 });
        log.warn(`retrying ${task} in ${delay} ms (attempt ${attempt + 1} of ${retries + 1})`);
        await this.deps.clock.sleep(delay, ctx.signal);
      }
    }
  }

  private readonly tasks: Record<TaskName, (ctx: RunContext, log: RunLog) => Promise<void>> = {
    preflight: (ctx, log) => this.preflight(ctx, log),
    extract: (ctx, log) => this.extract(ctx, log),
    validate: (ctx, log) => this.validate(ctx, log),
    transform: (ctx, log) => this.transform(ctx, log),
    record: (ctx, log) => this.record(ctx, log),
  };

  private async preflight(ctx: RunContext, log: RunLog): Promise<void> {
    const problems: string[] = [];
    const checks: Record<string, string> = {};
    const wh = this.deps.warehouse.isOpen ? await this.deps.warehouse.health() : { ok: false, error: 'closed' };
    checks.warehouse = wh.ok ? 'ok' : `unavailable: ${wh.error}`;
    if (!wh.ok) problems.push(`the warehouse is not usable (${wh.error})`);
    const jr = this.deps.journal.health();
    checks.journal = jr.ok ? 'ok' : `unavailable: ${jr.error}`;
    if (!jr.ok) problems.push(`the journal is not writable (${jr.error})`);
    try {
      const s = await statfs(this.deps.dataDir);
      const free = s.bavail * s.bsize;
      const need = this.deps.minFreeBytes ?? 200 * 1024 * 1024;
      checks.disk = `${Math.round(free / 1024 / 1024)} MB free`;
      if (free < need)
        problems.push(
          `only ${Math.round(free / 1024 / 1024)} MB free in ${this.deps.dataDir}; need ${Math.round(need / 1024 / 1024)} MB`,
        );
    } catch (err) {
      problems.push(`cannot read free disk space of ${this.deps.dataDir}: ${errorMessage(err)}`);
    }
    if (ctx.params.debug) {
      checks.ibkr = 'skipped (debug mode reads the cache only)';
      log.info('IBKR check skipped: debug mode reads the cache only');
    } else {
      const ibkr = this.deps.ibkr();
      if (!ibkr) problems.push('IBKR is not configured in this workstation');
      else {
        const health = await ibkr.health().catch((err) => ({ ok: false, error: errorMessage(err) }));
        const verdict = readHealth(health);
        checks.ibkr = verdict.ok ? 'reachable' : `unreachable: ${verdict.reason}`;
        if (!verdict.ok) problems.push(`IBKR is not reachable: ${verdict.reason}`);
      }
    }
    if (!this.deps.barCache()) problems.push('the bar cache is not available in this workstation');
    ctx.inspection.preflight = checks;
    log.info('pre-flight checks', checks);
    if (problems.length > 0) {
      throw new FatalTaskError('PREFLIGHT_FAILED', problems.join('; '), { status: 503, details: checks });
    }
  }

  private async extract(ctx: RunContext, log: RunLog): Promise<void> {
    const cache = this.deps.barCache();
    if (!cache) throw new AppError('NO_CACHE', 'the bar cache is not available', { status: 503 });
    const { params } = ctx;
    const from = Date.parse(params.from);
    const to = Date.parse(params.to);
    const options: GetOrFetchOptions = {
      exchange: params.exchange,
      whatToShow: 'TRADES',
      useRTH: true,
      signal: ctx.signal,
      offline: params.debug,
    };
    const key = cache.seriesKey(params.symbols[0], params.barSize, options);
    ctx.selector = { exchange: key.exchange, dataType: key.dataType, barSize: key.barSize, useRTH: key.useRTH };
    ctx.data = [];
    ctx.missing = [];
    for (const symbol of params.symbols) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      let result: GetOrFetchResult;
      try {
        result = await cache.getOrFetch(symbol, from, to, params.barSize, options);
      } catch (err) {
        if (isSymbolProblem(err)) {
          ctx.missing.push({ symbol, reason: errorMessage(err) });
          log.warn(`${symbol}: no data (${errorMessage(err)}); continuing without it`, { symbol, code: (err as AppError).code });
          continue;
        }
        throw err;
      }
      const rows = result.columns.ts.length;
      if (rows === 0) {
        const reason = params.debug
          ? 'the cache holds no bars for this range (debug mode does not fetch)'
          : 'IBKR returned no bars for this range';
        ctx.missing.push({ symbol, reason });
        log.warn(`${symbol}: no data; continuing without it`, { symbol, reason, lineage: lineageFields(result.lineage) });
        continue;
      }
      const warm = await this.warmup(ctx, symbol, from, options, log);
      ctx.data.push({
        symbol,
        bars: result.columns,
        lineage: result.lineage,
        checksum: checksumColumns(result.columns),
        warmup: warm?.bars ?? null,
        warmupLineage: warm?.lineage ?? null,
      });
      const l = result.lineage;
      const w = warm?.lineage;
      log.info(
        `${symbol}: ${rows} bars (${l.rowsFromCache} from cache, ${l.rowsFromIbkr} from IBKR)` +
          (w ? `; warm-up before the range: ${w.rowsFromCache} from cache, ${w.rowsFromIbkr} from IBKR` : ''),
        { symbol, lineage: lineageFields(l), ...(w ? { warmupLineage: lineageFields(w) } : {}) },
      );
      log.debug(`${symbol}: first and last bars`, inspectBars(result.columns));
    }
    if (ctx.missing.length > 0) {
      this.deps.tracker.setTags(ctx.runId, { missing_symbols: ctx.missing.map((m) => m.symbol).join(',') });
    }
    ctx.inspection.extract = {
      symbols: ctx.data.map((d) => ({
        symbol: d.symbol,
        rows: d.bars.ts.length,
        checksum: d.checksum,
        lineage: lineageFields(d.lineage),
        warmupLineage: d.warmupLineage ? lineageFields(d.warmupLineage) : null,
        ...inspectBars(d.bars),
      })),
      missing: ctx.missing,
    };
    if (ctx.data.length === 0) {
      // A weekend or holiday range is the likeliest reason; saying so beats "no bars" and a missing-symbols tag.
      const closed = hasTradingDay(from, to)
        ? ''
        : ` — ${params.from.slice(0, 10)} to ${params.to.slice(0, 10)} holds no NYSE trading day`;
      throw new FatalTaskError(
        'NO_DATA',
        `no bars for any of ${params.symbols.join(', ')}${params.debug ? ' in the cache' : ''}${closed}`,
        {
          status: 404,
        },
      );
    }
  }

  /**
   * The WARMUP_BARS bars before `from`, through the cache like the range itself (fetched when missing, except in
   * debug mode). Never fails the run: without them the first values of the longer indicators stay empty.
   */
  private async warmup(
    ctx: RunContext,
    symbol: string,
    from: number,
    options: GetOrFetchOptions,
    log: RunLog,
  ): Promise<{ bars: BarColumns | null; lineage: BarLineage } | null> {
    const cache = this.deps.barCache() as BarSourceLike;
    try {
      const r = await cache.getOrFetch(symbol, from - warmupSpanMs(ctx.params.barSize), from, ctx.params.barSize, options);
      const n = r.columns.ts.length;
      log.debug(`${symbol}: ${Math.min(n, WARMUP_BARS)} warm-up bars before the range`, { rowsFromIbkr: r.lineage.rowsFromIbkr });
      if (n === 0) return { bars: null, lineage: r.lineage };
      const k = Math.max(0, n - WARMUP_BARS);
      return {
        bars: Object.fromEntries(BAR_FIELDS.map((f) => [f, r.columns[f].subarray(k)])) as unknown as BarColumns,
        lineage: r.lineage,
      };
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      log.warn(
        `${symbol}: no warm-up bars before the range (${errorMessage(err)}); its first SMA 50, RSI and MACD values stay empty`,
      );
      return null;
    }
  }

  private async validate(ctx: RunContext, log: RunLog): Promise<void> {
    const z = this.deps.settings().PIPELINE_OUTLIER_Z;
    const reports: SymbolReport[] = ctx.data.map((d) =>
      validateSymbol(d.symbol, d.bars, {
        barSize: ctx.params.barSize,
        outlierZ: z,
        hasVolume: true,
        useRTH: ctx.selector?.useRTH ?? true,
        range: { from: Date.parse(ctx.params.from), to: Date.parse(ctx.params.to), now: this.deps.clock.now() },
      }),
    );
    const report = summarise(reports);
    ctx.report = report;
    for (const r of reports) {
      const failed = r.checks.filter((c) => !c.passed);
      if (failed.length === 0) log.info(`${r.symbol}: all ${r.checks.length} checks passed`, { rows: r.rows });
      for (const c of failed) {
        const fields = { symbol: r.symbol, check: c.check, failures: c.failures, examples: c.examples };
        if (c.severity === 'error') log.error(`${r.symbol}: ${c.check} failed on ${c.failures} bar(s)`, fields);
        else log.warn(`${r.symbol}: ${c.check}: ${c.failures} finding(s)`, fields);
      }
    }
    ctx.inspection.validate = {
      passed: report.passed,
      checksPassed: report.checksPassed,
      checksFailed: report.checksFailed,
      warnings: report.warnings,
    };
    if (!report.passed) {
      const bad = reports
        .filter((r) => !r.passed)
        .map(
          (r) =>
            `${r.symbol} (${r.checks
              .filter((c) => !c.passed && c.severity === 'error')
              .map((c) => c.check)
              .join(', ')})`,
        );
      throw new FatalTaskError(
        'VALIDATION_FAILED',
        `data quality checks failed for ${bad.join('; ')}; see validation_report.json`,
        {
          status: 422,
        },
      );
    }
  }

  private async transform(ctx: RunContext, log: RunLog): Promise<void> {
    const { warehouse, artifacts } = this.deps;
    if (!warehouse.isOpen)
      throw new AppError('STORE_UNAVAILABLE', 'the warehouse is closed; cannot write indicators', { status: 503 });
    const started = performance.now();
    const selector = ctx.selector as SeriesSelector;
    // Each symbol's file is written while the next one is computed.
    const writer = await IndicatorWriteBack.begin(
      warehouse,
      selector,
      ctx.data.map((d) => d.symbol),
    );
    let computeMs = 0;
    try {
      for (const d of ctx.data) {
        const t0 = performance.now();
        d.indicators = computeIndicatorsAfter(d.warmup, d.bars);
        computeMs += performance.now() - t0;
        await writer.add({ symbol: d.symbol, bars: d.bars, indicators: d.indicators, warmup: d.warmup });
      }
    } catch (err) {
      await writer.abort();
      throw err;
    }
    ctx.updatedRows = await writer.commit();
    const series = ctx.data;
    const parts = encodeTransformed(
      series.map((d) => ({ symbol: d.symbol, bars: d.bars, indicators: d.indicators as IndicatorColumns })),
    );
    await artifacts.write(
      ctx.runId,
      'transformed.parquet',
      'parquet',
      {
        writeTo: async (path) => {
          const handle = await open(path, 'w');
          try {
            await writeParts(handle.fd, parts);
          } finally {
            await handle.close();
          }
        },
      },
      (message, fields) => log.warn(message, fields),
    );
    const computedRows = series.reduce((n, x) => n + x.bars.ts.length, 0);
    log.info(`indicators computed for ${computedRows} bars; ${ctx.updatedRows} changed and were written back to the cache`, {
      indicators: [...INDICATOR_NAMES],
      computeMs: Math.round(computeMs),
      totalMs: Math.round(performance.now() - started),
    });
    ctx.inspection.transform = {
      updatedRows: ctx.updatedRows,
      last: Object.fromEntries(ctx.data.map((d) => [d.symbol, lastValues(d.indicators as IndicatorColumns)])),
    };
    for (const d of ctx.data) log.debug(`${d.symbol}: latest indicators`, lastValues(d.indicators as IndicatorColumns));
  }

  private async record(ctx: RunContext, log: RunLog): Promise<void> {
    const { artifacts } = this.deps;
    const sample = csvSample(ctx.data, 50);
    const written = await artifacts.write(ctx.runId, 'data_sample.csv', 'csv', { bytes: sample }, (m, f) => log.warn(m, f));
    if (written)
      log.info(`artifact data_sample.csv written (${written.size} bytes)`, { path: written.path, status: written.status });
  }

  /** Metrics, the validation report and the debug summary: written for every run, whatever its end. */
  private async recordOutcome(ctx: RunContext, status: string, error: string | null): Promise<void> {
    const { tracker, artifacts } = this.deps;
    const metrics: Record<string, number> = {};
    let total = 0;
    let read = 0;
    let fromCache = 0;
    let warmupFromIbkr = 0;
    for (const d of ctx.data) {
      metrics[`rows.${d.symbol}`] = d.bars.ts.length;
      total += d.bars.ts.length;
      // The hit rate counts every bar the run read, warm-up included: those are IBKR requests too.
      read += d.lineage.rowsFromCache + d.lineage.rowsFromIbkr;
      fromCache += d.lineage.rowsFromCache;
      if (d.warmupLineage) {
        read += d.warmupLineage.rowsFromCache + d.warmupLineage.rowsFromIbkr;
        fromCache += d.warmupLineage.rowsFromCache;
        warmupFromIbkr += d.warmupLineage.rowsFromIbkr;
      }
    }
    metrics.rows = total;
    metrics.symbols = ctx.data.length;
    metrics.missing_symbols = ctx.missing.length;
    metrics.warmup_rows_from_ibkr = warmupFromIbkr;
    if (read > 0) metrics.cache_hit_rate = fromCache / read;
    if (ctx.report) {
      metrics.checks_passed = ctx.report.checksPassed;
      metrics.checks_failed = ctx.report.checksFailed;
      metrics.check_warnings = ctx.report.warnings;
    }
    metrics.indicator_rows_written = ctx.updatedRows;
    for (const [task, ms] of Object.entries(ctx.durations)) metrics[`duration_ms.${task}`] = ms;
    tracker.metrics(ctx.runId, metrics);
    tracker.setOutputs(ctx.runId, {
      symbols: Object.fromEntries(ctx.data.map((d) => [d.symbol, { rows: d.bars.ts.length, checksum: d.checksum }])),
      missing: ctx.missing,
      lineage: ctx.data.map((d) => ({
        ...lineageFields(d.lineage),
        warmup: d.warmupLineage ? lineageFields(d.warmupLineage) : null,
      })),
    });
    const onProblem = (m: string, f: Record<string, unknown>) => ctx.log.warn(m, f);
    if (ctx.report) {
      await artifacts.write(
        ctx.runId,
        'validation_report.json',
        'json',
        { bytes: JSON.stringify(ctx.report, null, 2) },
        onProblem,
      );
    }
    if (ctx.params.debug) {
      const settings = this.deps.settings();
      const summary = {
        runId: ctx.runId,
        status,
        error,
        // `config.DEBUG_MODE` is the app's setting; a run can be in debug mode on its own (flag, replay).
        debugMode: { thisRun: true, because: settings.DEBUG_MODE ? 'DEBUG_MODE is on' : 'the run was started in debug mode' },
        params: ctx.params,
        config: redactedSettings(settings),
        environment: {
          app: APP_VERSION,
          node: process.versions.node,
          platform: `${process.platform}-${process.arch}`,
          dataDir: this.deps.dataDir,
          pid: process.pid,
        },
        steps: ctx.inspection,
        durationsMs: ctx.durations,
      };
      await artifacts.write(ctx.runId, 'debug_summary.json', 'json', { bytes: JSON.stringify(summary, null, 2) }, onProblem);
    }
  }
}

function parseDate(value: string, name: string): number {
  const t = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (!isRealDate(value) || !Number.isFinite(t))
    throw new AppError('BAD_DATE', `${name} "${value}" is not a date (expected YYYY-MM-DD)`, { status: 400 });
  return t;
}

/** Errors that concern one symbol (unknown, no permission, no data): the run carries on without it. */
function isSymbolProblem(err: unknown): boolean {
  if (err instanceof IbkrError) return [200, 162, 354, 10167, 10168].includes(err.ibkrCode ?? -1) && !/pacing/i.test(err.message);
  const code = (err as { code?: string })?.code ?? '';
  return /UNKNOWN_SYMBOL|NO_PERMISSION|NO_DATA/i.test(code);
}

function readHealth(h: unknown): { ok: boolean; reason: string } {
  if (typeof h === 'boolean') return { ok: h, reason: h ? '' : 'not connected' };
  const o = (h ?? {}) as Record<string, unknown>;
  const ok = o.ok === true || o.connected === true || o.status === 'connected' || o.reachable === true;
  const reason = [
    o.error,
    o.message,
    o.reason,
    (o.lastError as { message?: string } | undefined)?.message,
    o.lastError,
    o.status,
  ].find((x) => typeof x === 'string' && x.length > 0) as string | undefined;
  return { ok, reason: reason ?? 'not connected' };
}

export function checksumColumns(cols: BarColumns): string {
  const h = createHash('sha256');
  for (const c of ['ts', 'open', 'high', 'low', 'close', 'volume'] as const) {
    const a = cols[c];
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex');
}

/** Whether [from, to) meets a NYSE trading day (by UTC date, as daily bars are keyed). */
function hasTradingDay(from: number, to: number): boolean {
  for (let day = Math.floor(from / DAY_MS); day * DAY_MS < to; day++) if (isTradingDay(day)) return true;
  return false;
}

function lineageFields(l: BarLineage): Record<string, unknown> {
  return {
    symbol: l.symbol,
    barSize: l.barSize,
    mode: l.mode,
    rowsFromCache: l.rowsFromCache,
    rowsFromIbkr: l.rowsFromIbkr,
    fetchedRanges: l.fetchedRanges.map((r) => ({ start: new Date(r.start).toISOString(), end: new Date(r.end).toISOString() })),
    fetchedAtMin: l.fetchedAtMin,
    fetchedAtMax: l.fetchedAtMax,
  };
}

function inspectBars(b: BarColumns): Record<string, unknown> {
  const n = b.ts.length;
  if (n === 0) return { rows: 0 };
  const bar = (i: number) => ({
    ts: new Date(b.ts[i]).toISOString(),
    open: b.open[i],
    high: b.high[i],
    low: b.low[i],
    close: b.close[i],
    volume: b.volume[i],
  });
  return { rows: n, first: bar(0), last: bar(n - 1) };
}

function lastValues(ind: IndicatorColumns): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of INDICATOR_NAMES) {
    const a = ind[k];
    const v = a.length ? a[a.length - 1] : Number.NaN;
    out[k] = Number.isFinite(v) ? v : null;
  }
  return out;
}

function csvSample(data: SymbolData[], perSymbol: number): string {
  const header = ['symbol', 'ts', 'open', 'high', 'low', 'close', 'volume', ...INDICATOR_NAMES];
  const lines = [header.join(',')];
  for (const d of data) {
    const n = d.bars.ts.length;
    const start = Math.max(0, n - perSymbol);
    for (let i = start; i < n; i++) {
      const row: (string | number)[] = [
        d.symbol,
        new Date(d.bars.ts[i]).toISOString(),
        d.bars.open[i],
        d.bars.high[i],
        d.bars.low[i],
        d.bars.close[i],
        d.bars.volume[i],
      ];
      for (const k of INDICATOR_NAMES) {
        const v = d.indicators?.[k][i];
        row.push(v === undefined || !Number.isFinite(v) ? '' : v);
      }
      lines.push(row.join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

function redactedSettings(s: Settings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) out[k] = settingDocs[k as keyof Settings]?.secret && v ? '********' : v;
  return out;
}

/** How far before `from` WARMUP_BARS bars of this size reach (RTH sessions; weekends and holidays included). */
function warmupSpanMs(barSize: BarSize): number {
  const interval = barSizeMs(barSize);
  if (interval > DAY_MS) return WARMUP_BARS * interval + 10 * DAY_MS;
  const perSession = interval === DAY_MS ? 1 : Math.max(1, Math.floor((390 * 60_000) / interval));
  const sessions = Math.ceil(WARMUP_BARS / perSession);
  return (Math.ceil((sessions * 7) / 5) + 10) * DAY_MS;
}
