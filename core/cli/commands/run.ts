/** `marketdesk run` (one pipeline run with live task progress) and `marketdesk runs list|show`. */

import { SYMBOL_PATTERN } from '../../config/schema';
import { BAR_SIZES, type BarSize } from '../../ibkr/types';
import type { RunDetail, RunSummary } from '../../runs';
import { type CliCommand, parseCommandArgs, UsageError } from '../command';
import { openWorkstation } from '../runtime';

const out = (line = '') => process.stdout.write(`${line}\n`);

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
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || !Number.isFinite(Date.parse(`${value}T00:00:00Z`))) {
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
    const barSize = values['bar-size'];
    if (barSize !== undefined && !(BAR_SIZES as readonly string[]).includes(barSize)) {
      throw new UsageError(`--bar-size "${barSize}" is not an IBKR bar size (e.g. "1 day", "1 min", "1 hour")`);
    }
    const overrides: Record<string, unknown> = {};
    if (values['data-dir'] !== undefined) overrides.DATA_DIR = values['data-dir'];

    const ws = await openWorkstation({ mode: 'cli', demo: values.demo, overrides });
    try {
      await ws.start();
      const { tracker, pipeline } = ws.runs;
      const debugNote = values.debug ? ' (DEBUG MODE: cache only)' : '';
      const off = tracker.onEvent((e) => {
        if (e.kind === 'updated' && !e.task && e.status === 'running') out(`Run ${e.runId} started${debugNote}`);
        if (e.kind !== 'updated' || !e.task) return;
        const mark =
          e.taskStatus === 'running' ? '▸' : e.taskStatus === 'succeeded' ? '✓' : e.taskStatus === 'failed' ? '✗' : '·';
        const attempt = e.attempt && e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
        out(`  ${mark} ${e.task.padEnd(10)} ${e.taskStatus}${attempt}`);
      });
      const logOff = tracker.onEvent((e) => {
        if (e.kind === 'log' && (e.entry.level === 'warn' || e.entry.level === 'error'))
          out(`    ${e.entry.level}: ${e.entry.message}`);
      });
      const { runId, done } = pipeline.trigger({
        symbols,
        from,
        to,
        barSize: barSize as BarSize | undefined,
        debug: values.debug || undefined,
      });
      const onSigint = () => {
        out('\nCancelling…');
        pipeline.cancel(runId);
      };
      process.once('SIGINT', onSigint);
      const outcome = await done;
      process.off('SIGINT', onSigint);
      off();
      logOff();
      const run = tracker.get(runId);
      out(`Run ${runId} ${outcome.status} in ${seconds(run.durationMs)}`);
      if (outcome.error) out(`  ${outcome.error}`);
      const m = run.latestMetrics;
      if (m.rows !== undefined) {
        out(
          `  rows ${m.rows}, checks passed ${m.checks_passed ?? 0}, failed ${m.checks_failed ?? 0}, cache hit rate ${m.cache_hit_rate === undefined ? '—' : `${Math.round(m.cache_hit_rate * 100)}%`}`,
        );
      }
      if (run.tags.missing_symbols) out(`  missing symbols: ${run.tags.missing_symbols}`);
      for (const a of tracker.artifacts({ runId }))
        out(`  artifact ${a.name} (${a.size} bytes${a.status === 'spooled' ? ', spooled' : ''}) ${a.path}`);
      return outcome.status === 'succeeded' ? 0 : 1;
    } finally {
      await ws.stop();
    }
  },
};

function summaryLine(r: RunSummary): string {
  const symbols = Array.isArray(r.params.symbols) ? (r.params.symbols as string[]).join(',') : '';
  const debug = r.tags.debug_mode === 'true' ? ' DEBUG' : '';
  return `${r.id}  ${r.status.padEnd(11)} ${r.trigger.padEnd(9)} ${r.startedAt.slice(0, 19).replace('T', ' ')}  ${seconds(r.durationMs).padStart(8)}  ${symbols}${debug}`;
}

function printDetail(run: RunDetail): void {
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
  for (const [k, v] of Object.entries(run.latestMetrics)) out(`    ${k.padEnd(24)} ${v}`);
}

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'List past pipeline runs or show one',
  usage: `marketdesk runs list [--search EXPR] [--limit N] [--data-dir DIR]
marketdesk runs show <run-id> [--logs] [--data-dir DIR]

  --search EXPR   e.g. 'params.symbols = "TSLA" AND metrics.rows > 100 AND status = "failed"'`,
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
    const ws = await openWorkstation({ mode: 'cli', overrides });
    try {
      // This process holds the journal lock: anything still "running" was left by one that ended.
      ws.runs.tracker.markInterrupted();
      if (sub === 'list') {
        const { runs, total } = ws.runs.tracker.list({ search: values.search, limit });
        if (runs.length === 0) out(values.search ? 'No runs match.' : 'No runs yet. Start one with "marketdesk run".');
        for (const r of runs) out(summaryLine(r));
        if (total > runs.length) out(`(${runs.length} of ${total}; use --limit to see more)`);
        return 0;
      }
      const run = ws.runs.tracker.get(positionals[0]);
      printDetail(run);
      if (values.logs) {
        out('  logs');
        for (const l of ws.runs.tracker.logs(run.id)) {
          out(
            `    ${l.time.slice(11, 23)} ${l.level.padEnd(5)} ${(l.task ?? '').padEnd(10)} ${l.message}${l.fields ? ` ${JSON.stringify(l.fields)}` : ''}`,
          );
        }
      }
      return 0;
    } finally {
      await ws.stop();
    }
  },
};
