/**
 * Market Data: what the bar cache holds, a candlestick + volume chart of the selected series,
 * one-click Refresh with live progress, Clear with confirmation, IBKR status and the DEBUG MODE badge.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api';
import { CandleChart, type ChartColumns } from '../components/CandleChart';
import { useApp } from '../stores/app';
import {
  BAR_SIZE_CHOICES,
  type CacheEntryView,
  RANGES,
  type RangeId,
  refreshDays,
  type SeriesSelection,
  useMarketData,
} from '../stores/marketdata';

const DAY_MS = 86_400_000;

/** Page-local styles (the shared sheet stays untouched). */
const CSS = `
.market-data .md-grid { display: grid; grid-template-columns: minmax(300px, 400px) 1fr; gap: 16px; align-items: start; }
.market-data .md-list { max-height: calc(100vh - 220px); overflow: auto; }
.market-data .md-list tr td { vertical-align: top; }
.market-data .md-add { display: flex; gap: 6px; margin: 4px 0 8px; }
.market-data .md-add input { flex: 1; min-width: 0; }
.market-data .md-add input:not(:placeholder-shown) { text-transform: uppercase; }
.market-data .md-chart { display: flex; flex-direction: column; gap: 8px; min-width: 0; }
.market-data .md-toolbar { display: flex; gap: 14px; align-items: center; flex-wrap: wrap; }
.market-data .candle-chart { height: 480px; width: 100%; }
.market-data .small { font-size: 12px; }
.market-data .confirm { display: flex; justify-content: space-between; align-items: center; gap: 12px; border-color: var(--bad); }
.market-data .md-progress-head { display: flex; justify-content: space-between; margin-bottom: 6px; }
.market-data .md-symbols { list-style: none; padding: 0; margin: 8px 0 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 2px 16px; font-size: 12.5px; }
.market-data .page-header h1 { flex: none; }
.market-data .page-header .actions { min-width: 0; }
.market-data .page-header button { flex: none; }
.market-data .ibkr-status { font-size: 12.5px; white-space: nowrap; min-width: 0; overflow: hidden; text-overflow: ellipsis; }
.market-data .md-tag { display: inline-block; margin-left: 6px; padding: 0 5px; border-radius: 4px; border: 1px solid var(--border); color: var(--warn); font-size: 11px; }
.market-data .ibkr-error { margin: -4px 0 12px; font-size: 12.5px; overflow-wrap: anywhere; }
.market-data .md-summary { margin: 10px 0 0; }
`;

export default function MarketDataPage() {
  const { list, listError, selected, range, refresh, refreshError, ibkr } = useMarketData();
  const { load, select, setRange, setBarSize, startRefresh, fetchSymbol, onProgress, clear, loadIbkrStatus, setIbkrStatus } =
    useMarketData.getState();
  const debugMode = useApp((s) => s.status?.debugMode ?? false) || (list?.debugMode ?? false);
  const [chart, setChart] = useState<{ columns: ChartColumns | null; requestedAt: number; info: string; error: string | null }>({
    columns: null,
    requestedAt: 0,
    info: '',
    error: null,
  });
  const [confirm, setConfirm] = useState<null | { symbol?: string }>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [draft, setDraft] = useState('');
  const [drawn, setDrawn] = useState<{ bars: number; ms: number } | null>(null);
  // Bumped after every Clear: the charted bars may be among the deleted ones.
  const [clears, setClears] = useState(0);

  useEffect(() => {
    void load();
    void loadIbkrStatus();
    const off = api.on('cache.progress', (p) => onProgress(p));
    const offIbkr = api.on('ibkr.status', (s) => setIbkrStatus(s));
    const timer = setInterval(() => void loadIbkrStatus(), 5000);
    return () => {
      off();
      offIbkr();
      clearInterval(timer);
    };
  }, [load, loadIbkrStatus, onProgress, setIbkrStatus]);

  const symbol = selected?.symbol;
  const barSize = selected?.barSize ?? '1 day';
  const dataType = selected?.dataType ?? 'TRADES';
  const exchange = selected?.exchange;
  const useRTH = selected?.useRTH ?? true;
  const seriesTags = tagsOf(exchange, useRTH, list?.exchange);
  const lastRefreshDone = refresh?.summary ? refresh.jobId : null;

  // Load the chart whenever the series or range changes, and after a refresh or a clear finishes.
  // biome-ignore lint/correctness/useExhaustiveDependencies: lastRefreshDone and clears re-trigger the load on purpose
  useEffect(() => {
    if (!symbol) return;
    const requestedAt = performance.now();
    let cancelled = false;
    const days = RANGES.find((r) => r.id === range)?.days ?? 0;
    setDrawn(null);
    api
      .call('cache.get', {
        symbol,
        barSize: barSize as never,
        dataType: dataType as never,
        ...(exchange ? { exchange } : {}),
        useRTH,
        ...(days > 0 ? { from: Date.now() - days * DAY_MS } : {}),
      })
      .then((res) => {
        if (cancelled) return;
        const info =
          res.count === 0
            ? `No cached ${barSize}${seriesTags.map((t) => ` ${t}`).join('')} bars of ${symbol} in this range. Refresh to fetch them.`
            : `${res.count.toLocaleString()} bars`;
        setChart({ columns: res.columns, requestedAt, info, error: null });
      })
      .catch((err: Error) => {
        if (!cancelled) setChart({ columns: null, requestedAt, info: '', error: err.message });
      });
    return () => {
      cancelled = true;
    };
  }, [symbol, barSize, dataType, exchange, useRTH, range, lastRefreshDone, clears]);

  const onDrawn = useCallback((info: { bars: number; ms: number }) => setDrawn(info), []);

  const rows = listRows(list, selected);
  const running = refresh !== null && refresh.summary === null;
  const refreshScope = refreshDays(range, barSize);
  const refreshSpan = daysLabel(refreshScope.days);

  return (
    <section className="page market-data" data-testid="page-market-data">
      <style>{CSS}</style>
      <div className="page-header">
        <h1>
          Market Data
          {debugMode && (
            <span
              className="badge badge-debug"
              data-testid="md-debug-badge"
              title="DEBUG_MODE: served from the cache only, nothing is fetched"
            >
              DEBUG MODE · replaying from cache
            </span>
          )}
        </h1>
        <div className="actions">
          <IbkrStatus status={ibkr} />
          <button
            type="button"
            className="primary"
            data-testid="cache-refresh"
            disabled={running || debugMode}
            title={
              debugMode
                ? 'Refresh is off in DEBUG MODE (offline replay)'
                : `Fetch what is missing or stale in the last ${refreshSpan} of ${barSize}${seriesTags.map((t) => ` ${t}`).join('')} bars for every symbol in CACHE_SYMBOLS`
            }
            onClick={() => void startRefresh()}
          >
            {running ? 'Refreshing…' : 'Refresh'}
          </button>
          <button type="button" className="danger" data-testid="cache-clear" onClick={() => setConfirm(symbol ? { symbol } : {})}>
            Clear…
          </button>
        </div>
      </div>
      {ibkr?.error && (
        <p className="bad ibkr-error" data-testid="ibkr-error">
          {ibkr.error}
        </p>
      )}

      {confirm && (
        <div className="card confirm" data-testid="clear-confirm" role="alertdialog">
          <span>
            Delete {confirm.symbol ? `every cached bar of ${confirm.symbol}` : 'the whole cache'}? They will be fetched from IBKR
            again on the next refresh.
          </span>
          <div className="actions">
            {confirm.symbol && (
              <button type="button" data-testid="clear-confirm-all" onClick={() => setConfirm({})}>
                Clear everything instead
              </button>
            )}
            <button type="button" data-testid="clear-confirm-no" onClick={() => setConfirm(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="danger"
              data-testid="clear-confirm-yes"
              onClick={() => {
                const scope = confirm;
                setConfirm(null);
                clear(scope)
                  .then((m) => setMessage(m))
                  .catch((err: Error) => setMessage(err.message))
                  .finally(() => setClears((n) => n + 1));
              }}
            >
              Delete
            </button>
          </div>
        </div>
      )}
      {message && (
        <p className="muted" data-testid="cache-message">
          {message}
        </p>
      )}
      {refreshError && (
        <p className="bad" data-testid="refresh-error">
          {refreshError}
        </p>
      )}
      {refresh && <RefreshPanel refresh={refresh} />}

      <div className="md-grid">
        <div className="card md-list">
          <h2>Cached series</h2>
          {listError && <p className="bad">{listError}</p>}
          <form
            className="md-add"
            onSubmit={(e) => {
              e.preventDefault();
              void fetchSymbol(draft).then((ok) => ok && setDraft(''));
            }}
          >
            <input
              data-testid="symbol-input"
              aria-label="Symbol to fetch"
              placeholder="Any symbol, e.g. AAPL"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
            />
            <button
              type="submit"
              data-testid="symbol-fetch"
              disabled={running || debugMode || draft.trim() === ''}
              title={
                debugMode
                  ? 'Fetching is off in DEBUG MODE (offline replay)'
                  : `Fetch this symbol's ${barSize} bars for the last ${refreshSpan} from IBKR into the cache`
              }
            >
              Fetch
            </button>
          </form>
          <table data-testid="cache-list">
            <thead>
              <tr>
                <th>Symbol</th>
                <th>Bars</th>
                <th>Range</th>
                <th>Updated</th>
                <th>Hit rate</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr
                  key={r.id}
                  data-testid={`cache-row-${r.symbol}`}
                  data-bar-size={r.barSize}
                  data-exchange={r.exchange}
                  data-use-rth={String(r.useRTH)}
                  data-rows={r.rows}
                  className={isSelected(selected, r, list?.exchange) ? 'selected' : undefined}
                  onClick={() => select(r)}
                  style={{ cursor: 'pointer' }}
                >
                  <td>
                    <strong>{r.symbol}</strong>
                    <div className="muted small">
                      {r.barSize}
                      {r.dataType !== 'TRADES' ? ` · ${r.dataType}` : ''}
                      {tagsOf(r.exchange, r.useRTH, list?.exchange).map((t) => (
                        <span key={t} className="md-tag">
                          {t}
                        </span>
                      ))}
                    </div>
                  </td>
                  <td>{r.rows > 0 ? r.rows.toLocaleString() : <span className="muted">not cached</span>}</td>
                  <td className="small">{r.firstTs ? `${r.firstTs.slice(0, 10)} → ${r.lastTs?.slice(0, 10)}` : '–'}</td>
                  <td className="small" title={r.lastUpdated ?? ''}>
                    {r.lastUpdated ? ago(r.lastUpdated) : '–'}
                  </td>
                  <td>{r.hitRate === null ? '–' : `${Math.round(r.hitRate * 100)}%`}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {list && (
            <p className="muted small">
              TTL {list.ttlHours} h · exchange {list.exchange} · cache {list.enabled ? 'on' : 'off (always fetching)'}
            </p>
          )}
        </div>

        <div className="card md-chart">
          <div className="md-toolbar">
            <span>
              <strong data-testid="chart-title">{symbol ?? 'No symbol'}</strong>{' '}
              <span className="muted small" data-testid="chart-series">
                {[barSize, ...(dataType !== 'TRADES' ? [dataType] : []), ...seriesTags].join(' · ')}
              </span>
            </span>
            <label>
              Range{' '}
              <select data-testid="range-picker" value={range} onChange={(e) => setRange(e.target.value as RangeId)}>
                {RANGES.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.label}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Bars{' '}
              <select data-testid="barsize-picker" value={barSize} onChange={(e) => setBarSize(e.target.value)}>
                {[...new Set([...BAR_SIZE_CHOICES, barSize])].map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
              </select>
            </label>
            <span className={`small ${refreshScope.capped ? 'warn' : 'muted'}`} data-testid="refresh-scope">
              Refresh fetches the last {refreshSpan}
              {refreshScope.capped ? ` (capped for ${barSize} bars)` : ''}
            </span>
            <span className="muted small" data-testid="chart-info">
              {chart.error ? <span className="bad">{chart.error}</span> : chart.info}
              {drawn && drawn.bars > 0 ? ` · drawn in ${drawn.ms} ms` : ''}
            </span>
          </div>
          <CandleChart
            columns={chart.columns}
            requestedAt={chart.requestedAt}
            intraday={!['1 day', '1 week', '1 month'].includes(barSize)}
            onDrawn={onDrawn}
          />
        </div>
      </div>
    </section>
  );
}

/** One line in the header (ellipsised, all of it in the tooltip); the error itself wraps below the header. */
function IbkrStatus({ status }: { status: ReturnType<typeof useMarketData.getState>['ibkr'] }) {
  const state = status?.state ?? 'unknown';
  const linkLost = status?.linkLost ?? false;
  const cls = linkLost ? 'warn' : state === 'connected' ? 'ok' : state === 'disconnected' ? 'bad' : 'warn';
  const text = linkLost ? `IBKR ${state} — gateway lost its link to IBKR servers (1100)` : `IBKR ${state}`;
  return (
    <span
      className="ibkr-status"
      data-testid="ibkr-status"
      data-state={state}
      data-link={linkLost ? 'lost' : 'ok'}
      title={[text, status?.detail, status?.error, status?.notice && `Last notice: ${status.notice}`].filter(Boolean).join('\n')}
    >
      <span className={cls}>●</span> <span className={linkLost ? 'warn' : undefined}>{text}</span>
    </span>
  );
}

function RefreshPanel({ refresh }: { refresh: NonNullable<ReturnType<typeof useMarketData.getState>['refresh']> }) {
  const pct = refresh.total > 0 ? Math.round((refresh.done / refresh.total) * 100) : 0;
  const symbols = Object.values(refresh.symbols);
  return (
    <div className="card" data-testid="refresh-progress" data-done={refresh.summary ? 'true' : 'false'}>
      <div className="md-progress-head">
        <strong>{refresh.summary ? 'Refresh finished' : 'Refreshing…'}</strong>
        <span data-testid="refresh-overall">
          {refresh.done}/{refresh.total} symbols{refresh.failed > 0 ? `, ${refresh.failed} failed` : ''}
        </span>
      </div>
      <div className="progress">
        <div style={{ width: `${pct}%` }} />
      </div>
      <ul className="md-symbols">
        {symbols.map((s) => (
          <li key={s.symbol} data-testid={`refresh-symbol-${s.symbol}`} data-status={s.status}>
            <strong>{s.symbol}</strong>{' '}
            <span className={s.status === 'failed' ? 'bad' : s.status === 'done' ? 'ok' : 'muted'}>{s.status}</span>
            {s.requestsTotal > 0 && s.status !== 'done' ? ` ${s.requestsDone}/${s.requestsTotal} requests` : ''}
            {s.status === 'done' ? ` · ${s.rowsFetched} fetched, ${s.rowsCached} cached` : ''}
            {s.error && <span className="bad"> · {s.error.message}</span>}
          </li>
        ))}
      </ul>
      {refresh.summary && (
        <p data-testid="refresh-summary" className="small md-summary">
          Fetched {refresh.summary.fetched.length} · already cached {refresh.summary.cached.length} · failed{' '}
          {refresh.summary.failed.length} · {refresh.summary.rowsFetched.toLocaleString()} bars from IBKR in{' '}
          {(refresh.summary.elapsedMs / 1000).toFixed(1)} s
        </p>
      )}
    </div>
  );
}

interface Row {
  id: string;
  symbol: string;
  barSize: string;
  dataType: string;
  exchange: string;
  useRTH: boolean;
  rows: number;
  firstTs: string | null;
  lastTs: string | null;
  lastUpdated: string | null;
  hitRate: number | null;
}

/** Every cached series, plus the CACHE_SYMBOLS and the selected symbol when they have nothing cached yet. */
function listRows(list: ReturnType<typeof useMarketData.getState>['list'], selected: SeriesSelection | null): Row[] {
  if (!list) return [];
  const rows: Row[] = list.entries.map((e: CacheEntryView) => ({
    id: `${e.symbol}|${e.exchange}|${e.dataType}|${e.barSize}|${e.useRTH}`,
    symbol: e.symbol,
    barSize: e.barSize,
    dataType: e.dataType,
    exchange: e.exchange,
    useRTH: e.useRTH,
    rows: e.rows,
    firstTs: e.firstTs,
    lastTs: e.lastTs,
    lastUpdated: e.lastUpdated,
    hitRate: e.hitRate,
  }));
  const empty: SeriesSelection[] = list.symbols.map((symbol) => ({ symbol, barSize: '1 day', dataType: 'TRADES' }));
  if (selected) empty.push(selected);
  for (const e of empty) {
    if (!rows.some((r) => r.symbol === e.symbol)) {
      rows.push({
        id: e.symbol,
        symbol: e.symbol,
        barSize: e.barSize,
        dataType: e.dataType,
        exchange: e.exchange ?? list.exchange,
        useRTH: e.useRTH ?? true,
        rows: 0,
        firstTs: null,
        lastTs: null,
        lastUpdated: null,
        hitRate: null,
      });
    }
  }
  return rows.sort((a, b) => a.symbol.localeCompare(b.symbol));
}

/** What sets a series apart from the cache's default one: its exchange, and all hours instead of regular hours. */
function tagsOf(exchange: string | undefined, useRTH: boolean, defaultExchange: string | undefined): string[] {
  return [...(exchange && exchange !== defaultExchange ? [exchange] : []), ...(useRTH ? [] : ['all hours'])];
}

function isSelected(selected: SeriesSelection | null, r: Row, defaultExchange: string | undefined): boolean {
  return (
    selected !== null &&
    selected.symbol === r.symbol &&
    selected.barSize === r.barSize &&
    selected.dataType === r.dataType &&
    (selected.exchange ?? defaultExchange) === r.exchange &&
    (selected.useRTH ?? true) === r.useRTH
  );
}

function daysLabel(days: number): string {
  return RANGES.find((r) => r.days === days)?.label ?? `${days.toLocaleString()} days`;
}

function ago(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return 'just now';
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
