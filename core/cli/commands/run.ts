/** `marketdesk run` (one pipeline run with live task progress) and `marketdesk runs list|show`. */

import type { EventPayload, MethodInput } from '../../api/contract';
import { formatMetric, isRealDate, type LogEntryView } from '../../api/runs';
import { SYMBOL_PATTERN } from '../../config/schema';
import { BAR_SIZES, type BarSize } from '../../ibkr/types';
import { errorMessage } from '../../platform';
import type { RunDetail, RunSummary } from '../../runs';
import { type RunningApp, serveForCli } from '../../server';
import { type CliCommand, parseCommandArgs, UsageError } from '../command';
import { openWorkstationOrApp } from '../runtime';

const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

function parseSymbols(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const symbols = value
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (symbols.length === 0) throw new UsageError('--symbols needs at least one symbol, e.g. --symbols NVDA,TSLA');
  const bad = symbols.find((s) => !SYMBOL_PATTERN.test(s));
  if (bad) throw new UsageError(`--symbols: "${bad}" is not a ticker symbol`);
  return symbols;
}

function parseDay(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.length !== 10 || !isRealDate(value)) {
    throw new UsageError(`${flag} "${value}" is not a date (expected YYYY-MM-DD)`);
  }
  return value;
}

function seconds(ms: number | null): string {
  return ms === null ? '—' : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'Run the data pipeline once, with live task progress',
  usage: `marketdesk run [--symbols NVDA,TSLA] [--from YYYY-MM-DD --to YYYY-MM-DD] [--bar-size "1 day"] [--debug] [--demo] [--data-dir DIR]

  --symbols LIST   comma-separated symbols (default CACHE_SYMBOLS)
  --from, --to     date range, to exclusive (default: the last 30 days and today)
  --bar-size S     IBKR bar size (default "1 day")
  --debug          debug mode: cache only (offline replay), verbose logs, debug summary artifact
  --demo           run against the built-in simulated IB Gateway
  --data-dir DIR   where the stores live (default DATA_DIR)`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      symbols: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'bar-size': { type: 'string' },
      debug: { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
    });
    const symbols = parseSymbols(values.symbols);
    const from = parseDay(values.from, '--from');
    const to = parseDay(values.to, '--to');
    if (from !== undefined && to !== undefined && from >= to)
      throw new UsageError(`--from ${from} must be before --to ${to} (to is exclusive)`);
    const barSize = values['bar-size'];
    if (barSize !== undefined && !(BAR_SIZES as readonly string[]).includes(barSize)) {
      throw new UsageError(`--bar-size "${barSize}" is not an IBKR bar size (e.g. "1 day", "1 min", "1 hour")`);
    }
    const overrides: Record<string, unknown> = {};
    if (values['data-dir'] !== undefined) overrides.DATA_DIR = values['data-dir'];

    const request = { symbols, from, to, barSize: barSize as BarSize | undefined, debug: values.debug || undefined };
    const target = await openWorkstationOrApp({ mode: 'cli', demo: values.demo, overrides });
    if (target.app) return runInApp(target.app, request, values.demo);
    const ws = target.ws;
    let unpublish: (() => Promise<void>) | null = null;
    try {
      await ws.start();
      // While this run holds the stores, `marketdesk runs …` from another terminal asks this process.
      unpublish = await serveForCli(ws).catch(() => null);
      const { tracker, pipeline } = ws.runs;
      const progress = progressPrinter(request.debug === true);
      const off = tracker.onEvent((e) => {
        if (e.kind === 'updated') progress.updated(e);
        else if (e.kind === 'log') progress.log(e.entry);
      });
      const { runId, done } = pipeline.trigger(request);
      const onSigint = () => {
        out('\nCancelling…');
        pipeline.cancel(runId);
      };
      process.once('SIGINT', onSigint);
      const outcome = await done;
      process.off('SIGINT', onSigint);
      off();
      printOutcome(tracker.get(runId), tracker.artifacts({ runId }), outcome.error);
      return outcome.status === 'succeeded' ? 0 : 1;
    } finally {
      await unpublish?.();
      await ws.stop();
    }
  },
};

type RunRequest = MethodInput<'runs.trigger'>;

/** Live task progress lines, the same for a local run and one carried out by the running app. */
function progressPrinter(debug: boolean) {
  const debugNote = debug ? ' (DEBUG MODE: cache only)' : '';
  let announced = false;
  const announce = (runId: string) => {
    if (!announced) out(`Run ${runId} started${debugNote}`);
    announced = true;
  };
  return {
    announce,
    updated(e: { runId: string; status: string; task?: string; taskStatus?: string; attempt?: number }) {
      if (!e.task) {
        if (e.status === 'running') announce(e.runId);
        return;
      }
      const mark = e.taskStatus === 'running' ? '▸' : e.taskStatus === 'succeeded' ? '✓' : e.taskStatus === 'failed' ? '✗' : '·';
      const attempt = e.attempt && e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
      out(`  ${mark} ${e.task.padEnd(10)} ${e.taskStatus}${attempt}`);
    },
    log(entry: { level: string; message: string }) {
      if (entry.level === 'warn' || entry.level === 'error') out(`    ${entry.level}: ${entry.message}`);
    },
  };
}

function printOutcome(
  run: Pick<RunDetail, 'id' | 'status' | 'durationMs' | 'latestMetrics' | 'tags' | 'error'>,
  artifacts: readonly { name: string; size: number; status: string; path: string }[],
  error?: string | null,
): void {
  out(`Run ${run.id} ${run.status} in ${seconds(run.durationMs)}`);
  const why = error ?? run.error;
  if (why) out(`  ${why}`);
  const m = run.latestMetrics;
  if (m.rows !== undefined) {
    out(
      `  rows ${m.rows}, checks passed ${m.checks_passed ?? 0}, failed ${m.checks_failed ?? 0}, cache hit rate ${m.cache_hit_rate === undefined ? '—' : formatMetric('cache_hit_rate', m.cache_hit_rate)}`,
    );
  }
  if (run.tags.missing_symbols) out(`  missing symbols: ${run.tags.missing_symbols}`);
  for (const a of artifacts) out(`  artifact ${a.name} (${a.size} bytes${a.status === 'spooled' ? ', spooled' : ''}) ${a.path}`);
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);
const LOST = 'lost';
const POLL_MS = 2_000;
const POLLS_BEFORE_LOST = 3;

/** `marketdesk run` while the app holds the stores: the app runs it (same pipeline, same one-run-at-a-time rule). */
async function runInApp(app: RunningApp, request: RunRequest, demoFlag: boolean): Promise<number> {
  const { client, info } = app;
  out(
    info.mode === 'cli'
      ? `Another marketdesk command (pid ${info.pid}) holds the stores: the request goes to it.`
      : `Marketdesk is running (${info.mode}, pid ${info.pid}): the run is carried out there and shows in its Runs page.`,
  );
  if (demoFlag && !app.demo) out('  --demo is ignored: the running app uses its own IBKR connection.');
  const progress = progressPrinter(request.debug === true);
  let runId: string | null = null;
  const early: EventPayload<'runs.updated'>[] = [];
  let finished: (status: string) => void = () => undefined;
  const ended = new Promise<string>((resolve) => {
    finished = resolve;
  });
  const onUpdate = (e: EventPayload<'runs.updated'>) => {
    progress.updated(e);
    if (!e.task && FINISHED.has(e.status)) finished(e.status);
  };
  const offUpdates = client.on('runs.updated', (e) => {
    if (runId === null) early.push(e);
    else if (e.runId === runId) onUpdate(e);
  });
  const offLogs = client.on('runs.log', (entry) => {
    if (entry.runId === runId) progress.log(entry);
  });
  let lostBecause: string | null = null;
  const lose = (err: unknown) => {
    lostBecause = errorMessage(err);
    finished(LOST);
  };
  const onSigint = () => {
    out('\nCancelling…');
    // An app that no longer answers cannot cancel anything: stop waiting for it.
    if (runId) void client.call('runs.cancel', { runId }).catch(lose);
  };
  // The event socket may miss the end (a reconnect): ask for the run's state now and then as well.
  // An app that stops answering (killed, crashed) ends the wait after a few polls instead of never.
  let unanswered = 0;
  const poll = setInterval(() => {
    if (runId)
      void client
        .call('runs.get', { runId })
        .then((r) => {
          unanswered = 0;
          if (FINISHED.has(r.status)) finished(r.status);
        })
        .catch((err: unknown) => {
          if (++unanswered >= POLLS_BEFORE_LOST) lose(err);
        });
  }, POLL_MS);
  try {
    runId = (await client.call('runs.trigger', request)).runId;
    progress.announce(runId);
    for (const e of early.splice(0)) if (e.runId === runId) onUpdate(e);
    process.once('SIGINT', onSigint);
    const status = await ended;
    if (status === LOST) {
      err(
        `Lost the connection to the app (pid ${info.pid}): ${lostBecause}\n` +
          `Run ${runId} did not report its end. Once Marketdesk is back, \`marketdesk runs show ${runId}\` tells what became of it` +
          ' (a run cut off by a crash is marked interrupted at the next start).',
      );
      return 1;
    }
    const run = await client.call('runs.get', { runId });
    const { artifacts } = await client.call('artifacts.list', { runId, limit: 5000 });
    printOutcome(run, artifacts);
    return status === 'succeeded' ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    clearInterval(poll);
    offUpdates();
    offLogs();
  }
}

function summaryLine(r: RunSummary): string {
  const symbols = Array.isArray(r.params.symbols) ? (r.params.symbols as string[]).join(',') : '';
  const debug = r.tags.debug_mode === 'true' ? ' DEBUG' : '';
  return `${r.id}  ${r.status.padEnd(11)} ${r.trigger.padEnd(9)} ${r.startedAt.slice(0, 19).replace('T', ' ')}  ${seconds(r.durationMs).padStart(8)}  ${symbols}${debug}`;
}

function printDetail(run: RunDetail, artifacts: readonly { name: string; size: number; status: string; path: string }[]): void {
  out(`Run ${run.id} (${run.workflow})`);
  out(`  status    ${run.status}${run.error ? ` — ${run.error}` : ''}`);
  out(`  trigger   ${run.trigger}${run.replayOf ? ` of ${run.replayOf}` : ''}`);
  out(`  started   ${run.startedAt}`);
  out(`  ended     ${run.endedAt ?? '—'} (${seconds(run.durationMs)})`);
  out(`  params    ${JSON.stringify(run.params)}`);
  out(
    `  tags      ${Object.entries(run.tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  out('  tasks');
  for (const a of run.attempts) {
    out(
      `    ${a.task.padEnd(10)} attempt ${a.attempt}  ${a.status.padEnd(11)} ${seconds(a.durationMs).padStart(8)}${a.error ? `  ${a.error}` : ''}`,
    );
  }
  out('  metrics');
  for (const [k, v] of Object.entries(run.latestMetrics)) out(`    ${k.padEnd(24)} ${formatMetric(k, v)}`);
  out('  artifacts');
  if (artifacts.length === 0) out('    none');
  for (const a of artifacts)
    out(`    ${a.name.padEnd(24)} ${String(a.size).padStart(10)} bytes${a.status === 'spooled' ? ' (spooled)' : ''}  ${a.path}`);
}

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'List past pipeline runs or show one',
  usage: `marketdesk runs list [--search EXPR] [--limit N] [--data-dir DIR]
marketdesk runs show <run-id> [--logs] [--data-dir DIR]

  --search EXPR   e.g. 'params.symbols = "TSLA" AND metrics.rows > 100 AND status = "failed"'
                  fields: params.X, tags.X, metrics.X, status, trigger, started, ended, id, workflow
                  operators: = != < <= > >= LIKE (e.g. tags.missing_symbols LIKE "%ZZZ%"); dates as "2026-01-05"`,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'list' && sub !== 'show') throw new UsageError(`expected "list" or "show", got ${sub ? `"${sub}"` : 'nothing'}`);
    const { values, positionals } = parseCommandArgs(
      rest,
      {
        search: { type: 'string' },
        limit: { type: 'string' },
        logs: { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
      },
      true,
    );
    const limit = values.limit === undefined ? 20 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit "${values.limit}" is not a positive whole number`);
    if (sub === 'show' && positionals.length !== 1) throw new UsageError('runs show needs exactly one run id');
    const overrides: Record<string, unknown> = {};
    if (values['data-dir'] !== undefined) overrides.DATA_DIR = values['data-dir'];
    const target = await openWorkstationOrApp({ mode: 'cli', overrides });
    if (target.app)
      return showFromApp(target.app.client, sub, { search: values.search, limit, runId: positionals[0], logs: values.logs });
    const ws = target.ws;
    try {
      // This process holds the journal lock: anything still "running" was left by one that ended.
      ws.runs.tracker.markInterrupted();
      if (sub === 'list') {
        printList(ws.runs.tracker.list({ search: values.search, limit }), values.search);
        return 0;
      }
      const run = ws.runs.tracker.get(positionals[0]);
      printDetail(run, ws.runs.tracker.artifacts({ runId: run.id }));
      if (values.logs) printLogs(ws.runs.tracker.logs(run.id));
      return 0;
    } finally {
      await ws.stop();
    }
  },
};

function printList({ runs, total }: { runs: RunSummary[]; total: number }, search: string | undefined): void {
  if (runs.length === 0) out(search ? 'No runs match.' : 'No runs yet. Start one with "marketdesk run".');
  for (const r of runs) out(summaryLine(r));
  if (total > runs.length) out(`(${runs.length} of ${total}; use --limit to see more)`);
}

function printLogs(entries: readonly LogEntryView[]): void {
  out('  logs');
  for (const l of entries) {
    out(
      `    ${l.time.slice(11, 23)} ${l.level.padEnd(5)} ${(l.task ?? '').padEnd(10)} ${l.message}${l.fields ? ` ${JSON.stringify(l.fields)}` : ''}`,
    );
  }
}

/** `runs list|show` while the app holds the stores: the same answers, asked of the app. */
async function showFromApp(
  client: RunningApp['client'],
  sub: 'list' | 'show',
  options: { search?: string; limit: number; runId?: string; logs: boolean },
): Promise<number> {
  if (sub === 'list') {
    printList(await client.call('runs.list', { search: options.search, limit: Math.min(options.limit, 500) }), options.search);
    return 0;
  }
  const run = await client.call('runs.get', { runId: options.runId as string });
  printDetail(run, (await client.call('artifacts.list', { runId: run.id, limit: 5000 })).artifacts);
  if (options.logs) printLogs((await client.call('runs.logs', { runId: run.id, limit: 20_000 })).entries);
  return 0;
}
