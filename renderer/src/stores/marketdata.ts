/**
 * Market Data page state: the cache listing, the selected series, refresh progress and the IBKR
 * status. Bars themselves are NOT kept here (they go from the API response straight to the chart).
 */
import { create } from 'zustand';
import { isBarSize, type MethodOutput, maxDuration, queuedSymbolProgress } from '../../../core/api/browser';
import { api } from '../api';

const DAY_MS = 86_400_000;

type CacheList = MethodOutput<'cache.list'>;
export type CacheEntryView = CacheList['entries'][number];
type Progress = Parameters<Parameters<typeof api.on<'cache.progress'>>[1]>[0];
type SymbolProgress = Extract<Progress, { kind: 'symbol' }>;
type Summary = Extract<Progress, { kind: 'summary' }>['summary'];

export const RANGES = [
  { id: '1M', label: '1 month', days: 31 },
  { id: '3M', label: '3 months', days: 92 },
  { id: '6M', label: '6 months', days: 183 },
  { id: '1Y', label: '1 year', days: 366 },
  { id: '5Y', label: '5 years', days: 5 * 366 },
  { id: 'ALL', label: 'All cached', days: 0 },
] as const;
export type RangeId = (typeof RANGES)[number]['id'];

export const BAR_SIZE_CHOICES = ['1 min', '5 mins', '15 mins', '1 hour', '1 day', '1 week'] as const;

/** What Refresh fetches when the picker says "All cached": a year, as cache.refresh does by default. */
const REFRESH_ALL_DAYS = 366;
/**
 * At most this many IBKR requests per symbol in one UI Refresh: a year of 1-minute bars is 366 one-day
 * requests per symbol, and the UI refreshes every CACHE_SYMBOL at once. 60 is IBKR's allowance per
 * 10 minutes for small bars; `marketdesk cache populate --days-back` has no such cap.
 */
const REFRESH_MAX_REQUESTS = 60;

/** The days back a Refresh of `barSize` fetches for the picked range, and whether the cap cut it. */
export function refreshDays(range: RangeId, barSize: string): { days: number; capped: boolean } {
  const picked = RANGES.find((r) => r.id === range)?.days || REFRESH_ALL_DAYS;
  const cap = isBarSize(barSize) ? Math.floor((REFRESH_MAX_REQUESTS * maxDuration(barSize).ms) / DAY_MS) : picked;
  return picked > cap ? { days: Math.max(1, cap), capped: true } : { days: picked, capped: false };
}

/** One cached series as the page selects it; exchange/useRTH absent = the cache's defaults. */
export interface SeriesSelection {
  symbol: string;
  barSize: string;
  dataType: string;
  exchange?: string;
  useRTH?: boolean;
}

export interface IbkrStatusView {
  state: string;
  detail: string | null;
  error: string | null;
  /** Connected to the gateway, but IBKR's 1100 says the gateway has no link to IBKR's servers. */
  linkLost: boolean;
  /** The last connectivity or farm notice, e.g. "1100 at 14:02: Connectivity between IB and TWS has been lost". */
  notice: string | null;
}

export interface RefreshView {
  jobId: string;
  symbols: Record<string, SymbolProgress>;
  done: number;
  total: number;
  failed: number;
  summary: Summary | null;
}

interface MarketDataState {
  list: CacheList | null;
  listError: string | null;
  selected: SeriesSelection | null;
  range: RangeId;
  refresh: RefreshView | null;
  refreshError: string | null;
  ibkr: IbkrStatusView | null;
  load(): Promise<void>;
  /** Selects a series; what is not given keeps the current bar size / data type, and the cache's default exchange and hours. */
  select(series: Pick<SeriesSelection, 'symbol'> & Partial<SeriesSelection>): void;
  setRange(range: RangeId): void;
  setBarSize(barSize: string): void;
  /** Starts a refresh; resolves to the symbols it covers (as the server spelled them), or null if it was refused. */
  startRefresh(symbols?: string[]): Promise<string[] | null>;
  /** Fetches one symbol typed by the user (any ticker, not only CACHE_SYMBOLS) and shows it once the refresh starts. */
  fetchSymbol(symbol: string): Promise<boolean>;
  onProgress(p: Progress): void;
  clear(scope: { symbol?: string }): Promise<string>;
  loadIbkrStatus(): Promise<void>;
  setIbkrStatus(s: MethodOutput<'ibkr.status'>): void;
}

export const useMarketData = create<MarketDataState>((set, get) => ({
  list: null,
  listError: null,
  selected: null,
  range: '1Y',
  refresh: null,
  refreshError: null,
  ibkr: null,

  async load() {
    try {
      const list = await api.call('cache.list', {});
      const selected = get().selected;
      set({ list, listError: null });
      if (!selected) {
        const first = list.entries[0];
        if (first)
          set({
            selected: {
              symbol: first.symbol,
              barSize: first.barSize,
              dataType: first.dataType,
              exchange: first.exchange,
              useRTH: first.useRTH,
            },
          });
        else if (list.symbols[0]) set({ selected: { symbol: list.symbols[0], barSize: '1 day', dataType: 'TRADES' } });
      }
    } catch (err) {
      set({ listError: (err as Error).message });
    }
  },

  select({ symbol, barSize, dataType, exchange, useRTH }) {
    const current = get().selected;
    set({
      selected: {
        symbol,
        barSize: barSize ?? current?.barSize ?? '1 day',
        dataType: dataType ?? current?.dataType ?? 'TRADES',
        exchange,
        useRTH,
      },
    });
  },

  setRange(range) {
    set({ range });
  },

  setBarSize(barSize) {
    const current = get().selected;
    if (current) set({ selected: { ...current, barSize } });
  },

  async startRefresh(symbols) {
    set({ refreshError: null });
    try {
      const { selected, range } = get();
      const barSize = selected?.barSize ?? '1 day';
      // The series the chart shows (bar size, data type, exchange, hours), over the range the picker shows.
      const { jobId, symbols: list } = await api.call('cache.refresh', {
        ...(symbols ? { symbols } : {}),
        barSize: barSize as never,
        daysBack: refreshDays(range, barSize).days,
        ...(selected?.dataType ? { dataType: selected.dataType as never } : {}),
        ...(selected?.exchange ? { exchange: selected.exchange } : {}),
        ...(selected?.useRTH !== undefined ? { useRTH: selected.useRTH } : {}),
      });
      const current = get().refresh;
      // Progress events may have arrived before the call returned: keep them.
      const early = current?.jobId === jobId ? current : null;
      set({
        refresh: early ?? {
          jobId,
          symbols: Object.fromEntries(list.map((s) => [s, queuedSymbolProgress(jobId, s)])),
          done: 0,
          total: list.length,
          failed: 0,
          summary: null,
        },
      });
      return list;
    } catch (err) {
      set({ refreshError: (err as Error).message });
      return null;
    }
  },

  async fetchSymbol(symbol) {
    const list = await get().startRefresh([symbol]);
    if (!list?.[0]) return false;
    const current = get().selected;
    get().select({ symbol: list[0], exchange: current?.exchange, useRTH: current?.useRTH });
    return true;
  },

  onProgress(p) {
    const current = get().refresh;
    const base: RefreshView =
      current && current.jobId === p.jobId
        ? current
        : { jobId: p.jobId, symbols: {}, done: 0, total: 0, failed: 0, summary: null };
    if (p.kind === 'symbol') set({ refresh: { ...base, symbols: { ...base.symbols, [p.symbol]: p } } });
    else if (p.kind === 'overall') set({ refresh: { ...base, done: p.symbolsDone, total: p.symbolsTotal, failed: p.failed } });
    else {
      set({ refresh: { ...base, summary: p.summary, done: p.summary.symbolsTotal, total: p.summary.symbolsTotal } });
      void get().load();
    }
  },

  async clear(scope) {
    const res = await api.call('cache.clear', scope.symbol ? { symbol: scope.symbol } : { all: true });
    await get().load();
    return `Deleted ${res.rows} bars (${res.intervals} coverage intervals)`;
  },

  async loadIbkrStatus() {
    try {
      get().setIbkrStatus(await api.call('ibkr.status', {}));
    } catch (err) {
      set({ ibkr: { state: 'unknown', detail: null, error: (err as Error).message, linkLost: false, notice: null } });
    }
  },

  setIbkrStatus(s) {
    const detail = [
      s.mode === 'demo' ? 'demo gateway' : `${s.host}:${s.port}`,
      s.serverVersion ? `server v${s.serverVersion}` : null,
      s.accounts.length > 0 ? s.accounts.join(', ') : null,
      s.offline ? 'offline (DEBUG MODE)' : null,
    ]
      .filter(Boolean)
      .join(' · ');
    const error =
      s.state !== 'connected' && s.lastError
        ? `${s.lastError.message}${s.lastError.code ? ` (IBKR ${s.lastError.code})` : ''}`
        : null;
    const notice = s.lastNotice
      ? `${s.lastNotice.code ? `${s.lastNotice.code} ` : ''}at ${new Date(s.lastNotice.at).toLocaleTimeString()}: ${s.lastNotice.message}`
      : null;
    set({
      ibkr: {
        state: s.offline ? 'offline' : s.state,
        detail,
        error,
        linkLost: s.state === 'connected' && s.connectivityLost,
        notice,
      },
    });
  },
}));
