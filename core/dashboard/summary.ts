/**
 * Builds the dashboard summary from whatever capabilities this workstation has. It asks the other
 * capabilities through the contract (by method name), so a capability that is absent, or fails,
 * leaves its card "not available" instead of breaking the dashboard.
 */
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { DashboardSummary } from '../api/dashboard';
import type { CallResult } from '../api/define';
import type { Settings } from '../config';

export interface DashboardDeps {
  settings(): Settings;
  demo: boolean;
  dataDir(): string;
  /** Calls another contract method in-process. */
  call(method: string, input: unknown): Promise<CallResult>;
  /** Whether the contract has this method. */
  has(method: string): boolean;
  now?(): number;
}

type Loose = Record<string, unknown>;

export function createDashboard(deps: DashboardDeps) {
  const now = deps.now ?? Date.now;
  let diskCache: { at: number; dir: string; value: DashboardSummary['disk'] } | null = null;

  const ask = async (candidates: [string, unknown][]): Promise<Loose | null> => {
    for (const [name, input] of candidates) {
      if (!deps.has(name)) continue;
      const res = await deps.call(name, input).catch(() => null);
      if (res?.ok && res.result && typeof res.result === 'object') return res.result as Loose;
    }
    return null;
  };
  const first = (...names: string[]) => names.find((n) => deps.has(n)) ?? null;

  async function disk(): Promise<DashboardSummary['disk']> {
    const dir = deps.dataDir();
    if (diskCache && diskCache.dir === dir && now() - diskCache.at < 15_000) return diskCache.value;
    const parts = await sizeByTopLevelEntry(dir);
    const value = {
      dataDir: dir,
      usedBytes: parts.reduce((a, p) => a + p.bytes, 0),
      freeBytes: await diskFree(dir),
      parts,
    };
    diskCache = { at: now(), dir, value };
    return value;
  }

  async function summary(): Promise<DashboardSummary> {
    const s = deps.settings();
    const today = new Date(now());
    today.setHours(0, 0, 0, 0);
    const [ibkr, webhooks, todays, scheduler, cache, runs, diskUsage] = await Promise.all([
      ask([['ibkr.status', {}]]),
      ask([['webhooks.status', {}]]),
      ask([['webhooks.events', { from: today.toISOString(), limit: 1000 }]]),
      ask([['scheduler.status', {}]]),
      ask([['cache.list', {}]]),
      ask([['runs.list', { limit: 1 }]]),
      disk(),
    ]);
    const cacheEntries = (pickArray(cache, 'entries') ?? []) as Loose[];
    const hits = cacheEntries.reduce((a, e) => a + (num(e, 'hits') ?? 0), 0);
    const misses = cacheEntries.reduce((a, e) => a + (num(e, 'misses') ?? 0), 0);
    const lastUpdated = cacheEntries
      .map((e) => str(e, 'lastUpdated'))
      .filter((v): v is string => v !== null)
      .sort()
      .at(-1);

    // Debug mode keeps IBKR offline on purpose: say so rather than "disconnected".
    const ibkrStatus = bool(ibkr, 'offline')
      ? 'offline (debug mode)'
      : (str(ibkr, 'state', 'status') ?? (ibkr ? 'unknown' : 'not available'));
    const connected = bool(ibkr, 'connected') ?? ibkrStatus === 'connected';
    const lastErrorObject = pickObject(ibkr, 'lastError');
    const notice = pickObject(ibkr, 'lastNotice');
    const lastRunRaw = firstOf(pickArray(runs, 'runs', 'items'));
    const cacheSymbols = cache ? new Set(cacheEntries.map((e) => String(e.symbol))).size : null;
    const cacheRows = cache ? cacheEntries.reduce((a, e) => a + (num(e, 'rows') ?? 0), 0) : null;

    return {
      generatedAt: new Date(now()).toISOString(),
      demo: deps.demo,
      debugMode: s.DEBUG_MODE,
      firstRun: !connected && !deps.demo && !(cacheRows && cacheRows > 0),
      ibkr: {
        available: ibkr !== null,
        status: ibkrStatus,
        connected,
        host: str(ibkr, 'host') ?? s.IB_HOST,
        port: num(ibkr, 'port') ?? s.IB_PORT,
        serverVersion: num(ibkr, 'serverVersion'),
        accounts: (pickArray(ibkr, 'accounts', 'managedAccounts') ?? []).map(String),
        connectivityLost: connected && (bool(ibkr, 'connectivityLost') ?? false),
        lastNotice: notice
          ? { code: num(notice, 'code'), message: str(notice, 'message') ?? '', at: str(notice, 'at') ?? '' }
          : null,
        lastError: str(ibkr, 'lastError') ?? str(lastErrorObject, 'message'),
        lastErrorAt: str(lastErrorObject, 'at'),
        // Connected, the last error is from an earlier attempt or session; offline on purpose (debug mode), it is
        // from before that. Either way it is history, not a current problem.
        lastErrorCurrent: !connected && !bool(ibkr, 'offline'),
      },
      webhooks: {
        available: webhooks !== null,
        listening: bool(webhooks, 'listening', 'running'),
        address: str(webhooks, 'url', 'address'),
        eventsToday: todays ? (pickArray(todays, 'items')?.length ?? null) : null,
        lastEventAt: str(webhooks, 'lastEventAt'),
        rejected: num(webhooks, 'rejectedTotal', 'rejectedSinceStart'),
        lastError: str(webhooks, 'lastError'),
      },
      scheduler: {
        available: scheduler !== null,
        schedule: str(scheduler, 'expression', 'schedule') ?? s.WORKFLOW_SCHEDULE,
        timezone: str(scheduler, 'timezone') ?? s.WORKFLOW_TIMEZONE,
        paused: bool(scheduler, 'paused') ?? s.WORKFLOW_PAUSED ?? false,
        nextRunAt: str(scheduler, 'nextRunAt') ?? (pickArray(scheduler, 'nextRuns')?.[0] as string | undefined) ?? null,
        lastRun: lastRunRaw
          ? {
              id: String(lastRunRaw.id ?? lastRunRaw.runId ?? ''),
              status: str(lastRunRaw, 'status') ?? 'unknown',
              startedAt: str(lastRunRaw, 'startedAt'),
              finishedAt: str(lastRunRaw, 'endedAt', 'finishedAt'),
            }
          : null,
      },
      cache: {
        available: cache !== null,
        enabled: s.CACHE_ENABLED,
        symbols: cacheSymbols,
        rows: cacheRows,
        hitRate: hits + misses > 0 ? hits / (hits + misses) : null,
        lastRefreshAt: lastUpdated ?? null,
      },
      disk: diskUsage,
      actions: {
        reconnect: first('ibkr.reconnect', 'ibkr.connect'),
        refreshCache: first('cache.refresh'),
        runNow: first('runs.trigger'),
        pauseScheduler: first('scheduler.pause'),
        resumeScheduler: first('scheduler.resume'),
      },
    };
  }

  return { summary, disk };
}

function pick(obj: Loose | null, keys: string[]): unknown {
  if (!obj) return undefined;
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return obj[k];
  return undefined;
}
function str(obj: Loose | null, ...keys: string[]): string | null {
  const v = pick(obj, keys);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && keys.some((k) => k.endsWith('At'))) return new Date(v).toISOString();
  return null;
}
function num(obj: Loose | null, ...keys: string[]): number | null {
  const v = pick(obj, keys);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
function bool(obj: Loose | null, ...keys: string[]): boolean | null {
  const v = pick(obj, keys);
  return typeof v === 'boolean' ? v : null;
}
function pickArray(obj: Loose | null, ...keys: string[]): unknown[] | null {
  const v = pick(obj, keys);
  return Array.isArray(v) ? v : null;
}
function pickObject(obj: Loose | null, ...keys: string[]): Loose | null {
  const v = pick(obj, keys);
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : null;
}
function firstOf(list: unknown[] | null): Loose | null {
  const v = list?.[0];
  return v && typeof v === 'object' ? (v as Loose) : null;
}

/** Bytes under each top-level entry of the data folder (stores, logs, artifacts, backups…). */
export async function sizeByTopLevelEntry(dir: string): Promise<{ name: string; bytes: number }[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const parts = await Promise.all(entries.map(async (e) => ({ name: e.name, bytes: await sizeOf(join(dir, e.name)) })));
  return parts.filter((p) => p.bytes > 0).sort((a, b) => b.bytes - a.bytes);
}

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path).catch(() => null);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const e of entries) total += await sizeOf(join(path, e.name));
  return total;
}

async function diskFree(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
