/** `marketdesk cache populate|list|clear`: fill, inspect and empty the market-data cache from a terminal. */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import type { CacheProgress, RefreshSummary } from '../../api/cache';
import { SYMBOL_PATTERN } from '../../config/schema';
import { BAR_SIZES, type BarSize } from '../../ibkr/types';
import { type CacheDataType, runRefresh } from '../../marketdata';
import { AppError } from '../../platform';
import type { Workstation } from '../../workstation';
import { type CliCommand, parseCommandArgs, UsageError } from '../command';
import { openWorkstation } from '../runtime';

/** Long enough for a gateway that accepts but never finishes the handshake (10 s) to be named as such. */
const GATEWAY_WAIT_MS = 15_000;

const DATA_TYPES = ['TRADES', 'MIDPOINT', 'BID', 'ASK', 'ADJUSTED_LAST'] as const;

const USAGE = `marketdesk cache <populate|list|clear> [options]

  marketdesk cache populate [--symbols NVDA,TSLA] [--exchange NASDAQ] [--days-back 365] [--bar-size "1 day"]
                            [--data-type TRADES] [--all-hours] [--retries 3] [--demo] [--data-dir DIR] [--json]
      Fetch what the cache lacks (gaps and the stale tail) for each symbol, with a progress bar on stderr
      and a summary: fetched, already cached, failed with the reason. Default symbols: CACHE_SYMBOLS.
  marketdesk cache list [--data-dir DIR] [--json]
      Cached series: rows, first/last bar, last update, hit rate.
  marketdesk cache clear [--symbol X] [--data-type T] [--bar-size S] [--yes] [--data-dir DIR]
      Delete cached bars and coverage (everything when no filter is given). Asks first unless --yes.

  --demo   run against the built-in simulated IB Gateway (no IBKR account needed)`;

export const cacheCommand: CliCommand = {
  name: 'cache',
  summary: 'Populate, list or clear the market-data cache',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'populate') return populate(rest);
    if (sub === 'list') return list(rest);
    if (sub === 'clear') return clear(rest);
    throw new UsageError(
      sub
        ? `unknown cache subcommand "${sub}" (expected populate, list or clear)`
        : 'missing subcommand: populate, list or clear',
    );
  },
};

async function populate(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    symbols: { type: 'string' },
    exchange: { type: 'string' },
    'days-back': { type: 'string', default: '365' },
    'bar-size': { type: 'string', default: '1 day' },
    'data-type': { type: 'string', default: 'TRADES' },
    'all-hours': { type: 'boolean', default: false },
    retries: { type: 'string', default: '3' },
    demo: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const symbols = values.symbols === undefined ? undefined : parseSymbols(values.symbols);
  const exchange = values.exchange === undefined ? undefined : parseExchange(values.exchange);
  const daysBack = parseWhole('--days-back', values['days-back'], 1, 365 * 30);
  const retries = parseWhole('--retries', values.retries, 0, 10);
  const barSize = parseBarSize(values['bar-size']);
  const dataType = parseDataType(values['data-type']);

  return withWorkstation(values['data-dir'], values.demo, async (ws) => {
    const settings = ws.settings.get();
    if (settings.DEBUG_MODE) {
      throw new AppError(
        'DEBUG_MODE',
        'DEBUG_MODE is on: the cache is replayed offline and nothing is fetched. Turn it off to populate.',
      );
    }
    await reachGateway(ws);
    const list = symbols ?? settings.CACHE_SYMBOLS;
    const progress = new ProgressView(list, process.stderr);
    const summary = await runRefresh(
      ws.barCache,
      { symbols: list, daysBack, barSize, dataType, exchange, useRTH: !values['all-hours'] },
      { jobId: `cli-${randomUUID().slice(0, 8)}`, clock: ws.clock, attempts: retries + 1, onProgress: (p) => progress.update(p) },
    );
    progress.finish();
    process.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    return summary.failed.length > 0 ? 1 : 0;
  });
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } });
  return withWorkstation(values['data-dir'], false, async (ws) => {
    const entries = await ws.barCache.list();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      return 0;
    }
    if (entries.length === 0) {
      process.stdout.write('The cache is empty. Fill it with: marketdesk cache populate --symbols NVDA,TSLA\n');
      return 0;
    }
    const rows = [
      ['SYMBOL', 'EXCHANGE', 'TYPE', 'BAR', 'ROWS', 'FIRST', 'LAST', 'UPDATED', 'HIT RATE'],
      ...entries.map((e) => [
        e.symbol,
        e.exchange,
        e.dataType,
        e.barSize + (e.useRTH ? '' : ' (all hours)'),
        String(e.rows),
        e.firstTs?.slice(0, 10) ?? '-',
        e.lastTs?.slice(0, 10) ?? '-',
        e.lastUpdated?.replace('T', ' ').slice(0, 16) ?? '-',
        e.hitRate === null ? '-' : `${Math.round(e.hitRate * 100)}% (${e.hits}/${e.hits + e.misses})`,
      ]),
    ];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    process.stdout.write(
      `${rows
        .map((r) =>
          r
            .map((cell, c) => cell.padEnd(widths[c]))
            .join('  ')
            .trimEnd(),
        )
        .join('\n')}\n`,
    );
    return 0;
  });
}

async function clear(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    symbol: { type: 'string' },
    'data-type': { type: 'string' },
    'bar-size': { type: 'string' },
    yes: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
  });
  const symbol = values.symbol === undefined ? undefined : parseSymbols(values.symbol, '--symbol')[0];
  const dataType = values['data-type'] === undefined ? undefined : parseDataType(values['data-type']);
  const barSize = values['bar-size'] === undefined ? undefined : parseBarSize(values['bar-size']);
  const what =
    [symbol, dataType, barSize].filter(Boolean).length === 0
      ? 'EVERYTHING in the cache'
      : `cached bars of ${[symbol, dataType, barSize].filter(Boolean).join(' / ')}`;
  if (!values.yes) {
    if (!process.stdin.isTTY) throw new UsageError(`refusing to delete ${what} without --yes (no terminal to ask)`);
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Delete ${what}? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      process.stderr.write('Nothing deleted.\n');
      return 1;
    }
  }
  return withWorkstation(values['data-dir'], false, async (ws) => {
    const all = !symbol && !dataType && !barSize;
    const result = await ws.barCache.clear({ symbol, dataType, barSize, all });
    process.stdout.write(`Deleted ${result.rows} bars and ${result.intervals} coverage intervals (${what}).\n`);
    return 0;
  });
}

/**
 * Says what it is waiting for, and stops at once with the reason when the gateway cannot be reached:
 * otherwise every symbol would wait out its own connection attempts and retries, silently, for minutes.
 */
async function reachGateway(ws: Workstation): Promise<void> {
  if (ws.ibkr.connected) return;
  const { IB_HOST, IB_PORT } = ws.settings.get();
  process.stderr.write(`Connecting to IB Gateway at ${ws.demo ? 'the demo simulator' : `${IB_HOST}:${IB_PORT}`} …\n`);
  const health = await ws.ibkr.health(GATEWAY_WAIT_MS);
  if (health.ok) return;
  throw new AppError(
    'IBKR_NOT_CONNECTED',
    `${health.message}\nNothing was fetched. Start TWS or IB Gateway with the API enabled (IB_HOST / IB_PORT in Settings), or try --demo.`,
  );
}

async function withWorkstation(
  dataDir: string | undefined,
  demo: boolean,
  fn: (ws: Workstation) => Promise<number>,
): Promise<number> {
  const ws = await openWorkstation({ mode: 'cli', demo, overrides: dataDir === undefined ? {} : { DATA_DIR: dataDir } });
  try {
    await ws.start();
    return await fn(ws);
  } finally {
    await ws.stop();
  }
}

export function parseSymbols(raw: string, flag = '--symbols'): string[] {
  const symbols = raw
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter((s) => s.length > 0);
  if (symbols.length === 0) throw new UsageError(`${flag}: expected at least one symbol, comma-separated (e.g. NVDA,TSLA)`);
  const bad = symbols.find((s) => !SYMBOL_PATTERN.test(s));
  if (bad !== undefined) throw new UsageError(`${flag}: "${bad}" is not a ticker symbol (letters, digits, ".", "-" or "/")`);
  return [...new Set(symbols)];
}

function parseExchange(raw: string): string {
  const v = raw.trim().toUpperCase();
  if (!/^[A-Z0-9.]{2,16}$/.test(v))
    throw new UsageError(`--exchange: "${raw}" is not an exchange code such as NASDAQ, NYSE or ARCA`);
  return v;
}

function parseWhole(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag}: expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function parseBarSize(raw: string): BarSize {
  const v = raw.trim();
  const found = BAR_SIZES.find((b) => b === v);
  if (!found) throw new UsageError(`--bar-size: "${raw}" is not an IBKR bar size (one of: ${BAR_SIZES.join(', ')})`);
  return found;
}

function parseDataType(raw: string): CacheDataType {
  const v = raw.trim().toUpperCase();
  const found = DATA_TYPES.find((d) => d === v);
  if (!found) throw new UsageError(`--data-type: "${raw}" is not one of ${DATA_TYPES.join(', ')}`);
  return found;
}

function formatSummary(s: RefreshSummary): string {
  const lines = [
    '',
    `Fetched: ${s.fetched.length > 0 ? s.fetched.join(', ') : '-'} (${s.rowsFetched} bars from IBKR)`,
    `Cached:  ${s.cached.length > 0 ? s.cached.join(', ') : '-'} (${s.rowsCached} bars already in the cache)`,
  ];
  if (s.failed.length === 0) lines.push('Failed:  -');
  else {
    lines.push(`Failed:  ${s.failed.length}`);
    for (const f of s.failed) {
      const code =
        f.error.ibkrCode !== null && !f.error.message.includes(`IBKR ${f.error.ibkrCode}`) ? ` (IBKR ${f.error.ibkrCode})` : '';
      lines.push(`  ${f.symbol}: ${f.error.message}${code}`);
    }
  }
  lines.push(`${s.symbolsTotal} symbols in ${(s.elapsedMs / 1000).toFixed(1)} s`);
  return `${lines.join('\n')}\n`;
}

/** Progress bars on stderr: redrawn in place on a terminal, one line per change otherwise. */
class ProgressView {
  private readonly state = new Map<string, { status: string; done: number; total: number; note: string }>();
  private overall = { done: 0, total: 0, failed: 0 };
  private drawnLines = 0;
  private readonly tty: boolean;

  constructor(
    symbols: string[],
    private readonly out: NodeJS.WriteStream,
  ) {
    this.tty = Boolean(out.isTTY);
    for (const s of symbols) this.state.set(s, { status: 'queued', done: 0, total: 0, note: '' });
    this.overall.total = symbols.length;
  }

  update(p: CacheProgress): void {
    if (p.kind === 'summary') return;
    if (p.kind === 'overall') {
      this.overall = { done: p.symbolsDone, total: p.symbolsTotal, failed: p.failed };
      if (this.tty) this.draw();
      else if (p.symbolsDone > 0)
        this.out.write(
          `overall ${bar(p.symbolsDone, p.symbolsTotal)} ${p.symbolsDone}/${p.symbolsTotal} symbols${p.failed ? `, ${p.failed} failed` : ''}\n`,
        );
      return;
    }
    const prev = this.state.get(p.symbol);
    const note =
      p.status === 'failed' || p.status === 'retrying'
        ? (p.error?.message ?? '')
        : p.status === 'done'
          ? (p.note ?? `${p.rowsFetched} fetched, ${p.rowsCached} cached`)
          : '';
    const next = { status: p.status, done: p.requestsDone, total: p.requestsTotal, note };
    this.state.set(p.symbol, next);
    if (this.tty) this.draw();
    else if (p.status !== prev?.status && p.status !== 'queued') {
      this.out.write(`${p.symbol.padEnd(8)} ${p.status}${note ? `: ${note}` : ''}\n`);
    }
  }

  finish(): void {
    if (this.tty) this.draw();
  }

  private draw(): void {
    const width = Math.max(6, ...[...this.state.keys()].map((k) => k.length));
    const lines = [...this.state.entries()].map(([symbol, s]) => {
      const frac = s.status === 'done' ? [1, 1] : s.total > 0 ? [s.done, s.total] : [0, 1];
      return `${symbol.padEnd(width)} ${bar(frac[0], frac[1])} ${s.status.padEnd(8)} ${s.note}`.slice(0, 120);
    });
    lines.push(
      `${'overall'.padEnd(width)} ${bar(this.overall.done, this.overall.total)} ${this.overall.done}/${this.overall.total}` +
        (this.overall.failed ? `, ${this.overall.failed} failed` : ''),
    );
    let text = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    text += lines.map((l) => `\x1b[2K${l}`).join('\n');
    this.out.write(`${text}\n`);
    this.drawnLines = lines.length;
  }
}

function bar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}
