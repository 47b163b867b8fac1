/** Gamma by strike for the latest snapshot of a ticker, with spot and zero gamma marked. */
import { useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Cell, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { type GexSnapshot, useWebhooks } from '../../stores/webhooks';
import { strikeTicks } from './strike-ticks';
import { shortTime } from './time';

type Measure = 'gexVol' | 'gexOi';
const MEASURES: Record<Measure, string> = { gexVol: 'by volume', gexOi: 'by open interest' };

const fmt = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined ? '—' : v.toLocaleString(undefined, { maximumFractionDigits: digits });

/** Axis bounds that include every strike, the spot and the zero-gamma level, with a little air. */
function domainOf(snap: GexSnapshot): [number, number] {
  const xs = [...snap.strikes.map((s) => s.strike), snap.spot, snap.zeroGamma].filter((v): v is number => v !== null);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pad = Math.max((hi - lo) * 0.03, 1);
  return [Math.floor(lo - pad), Math.ceil(hi + pad)];
}

export function GexView() {
  const tickers = useWebhooks((s) => s.gexTickers);
  const ticker = useWebhooks((s) => s.gexTicker);
  const snap = useWebhooks((s) => s.gex);
  const error = useWebhooks((s) => s.gexError);
  const stale = useWebhooks((s) => s.gexStale);
  const selectTicker = useWebhooks((s) => s.selectGexTicker);
  const reload = useWebhooks((s) => s.loadGexTickers);
  const [measure, setMeasure] = useState<Measure>('gexVol');
  const [draft, setDraft] = useState('');

  const data = useMemo(() => snap?.strikes.map((s) => ({ strike: s.strike, value: s[measure] ?? 0 })) ?? [], [snap, measure]);
  const uniqueTickers = [...new Set(tickers.map((t) => t.ticker))];

  return (
    <section className="card" data-testid="gex-view">
      <div className="card-head">
        <h2>GEX — gamma by strike</h2>
        <div className="actions">
          <select
            aria-label="GEX ticker"
            data-testid="gex-ticker"
            value={uniqueTickers.includes(ticker) ? ticker : ''}
            onChange={(e) => void selectTicker(e.target.value)}
          >
            {!uniqueTickers.includes(ticker) && <option value="">{ticker || 'Ticker…'}</option>}
            {uniqueTickers.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (draft.trim()) void selectTicker(draft);
              setDraft('');
            }}
          >
            <input
              aria-label="Other ticker"
              placeholder="Other ticker"
              size={8}
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
            />
          </form>
          <select aria-label="GEX measure" value={measure} onChange={(e) => setMeasure(e.target.value as Measure)}>
            {Object.entries(MEASURES).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
          <button type="button" data-testid="gex-refresh" onClick={() => void reload()}>
            {stale ? 'Refresh (new data)' : 'Refresh'}
          </button>
        </div>
      </div>
      {error && <p className="bad">{error}</p>}
      {!snap ? (
        <p className="muted" data-testid="gex-empty">
          {ticker
            ? `No GEX snapshot for ${ticker} yet.`
            : 'No GEX data yet. POST a gexbot snapshot to /gex or stream gex_strike channels from Unusual Whales.'}
        </p>
      ) : (
        <>
          <div className="gex-legend" data-testid="gex-summary">
            <span>
              <strong data-testid="gex-snapshot-ticker">{snap.ticker}</strong> <span className="muted">{snap.category}</span>
            </span>
            <span className="muted" title={snap.ts}>
              {shortTime(snap.ts)} · {snap.source}
            </span>
            <span className="legend-spot" data-testid="gex-spot">
              ━ spot {fmt(snap.spot)}
            </span>
            <span className="legend-zero" data-testid="gex-zero-gamma">
              ┅ zero gamma {fmt(snap.zeroGamma)}
            </span>
            <span className="muted">
              major +γ {fmt(snap.majorPosVol, 0)} · −γ {fmt(snap.majorNegVol, 0)} · {snap.strikes.length} strikes
            </span>
          </div>
          <div className="gex-chart" data-testid="gex-chart">
            <ResponsiveContainer width="100%" height={320}>
              <BarChart data={data} margin={{ top: 40, right: 24, bottom: 8, left: 8 }}>
                <CartesianGrid stroke="#2a3543" strokeDasharray="3 3" />
                <XAxis
                  dataKey="strike"
                  type="number"
                  domain={domainOf(snap)}
                  ticks={strikeTicks(
                    snap.strikes.map((s) => s.strike),
                    domainOf(snap),
                  )}
                  allowDataOverflow
                  stroke="#8a96a8"
                  tick={{ fontSize: 11 }}
                />
                <YAxis
                  stroke="#8a96a8"
                  tick={{ fontSize: 11 }}
                  tickFormatter={(v: number) => fmt(v, 0)}
                  width={70}
                  // Bars grow from zero: the axis always includes it (with one strike, auto bounds hug the value).
                  domain={[(min: number) => Math.min(0, min), (max: number) => Math.max(0, max)]}
                />
                <Tooltip
                  contentStyle={{ background: '#1d2631', border: '1px solid #2a3543' }}
                  labelFormatter={(v) => `strike ${v}`}
                  formatter={(v) => [fmt(Number(v)), `gamma ${MEASURES[measure]}`]}
                />
                <ReferenceLine y={0} stroke="#8a96a8" />
                {/* On a numeric axis the bar width comes from the gap between strikes: none with a single strike. */}
                <Bar dataKey="value" isAnimationActive={false} minPointSize={1} barSize={data.length === 1 ? 14 : undefined}>
                  {data.map((d) => (
                    <Cell key={d.strike} fill={d.value >= 0 ? '#3fb950' : '#f85149'} />
                  ))}
                </Bar>
                {snap.spot !== null && (
                  <ReferenceLine
                    x={snap.spot}
                    stroke="#4c9aff"
                    strokeWidth={2}
                    className="gex-spot-line"
                    label={{
                      value: `spot ${fmt(snap.spot)}`,
                      // Above the plot (not over the bars), on its own line so it never covers the zero-gamma label.
                      position: 'top',
                      offset: 22,
                      fill: '#4c9aff',
                      fontSize: 11,
                    }}
                  />
                )}
                {snap.zeroGamma !== null && (
                  <ReferenceLine
                    x={snap.zeroGamma}
                    stroke="#d29922"
                    strokeDasharray="6 4"
                    strokeWidth={2}
                    className="gex-zero-line"
                    label={{
                      value: `zero γ ${fmt(snap.zeroGamma)}`,
                      position: 'top',
                      offset: 6,
                      fill: '#d29922',
                      fontSize: 11,
                    }}
                  />
                )}
              </BarChart>
            </ResponsiveContainer>
          </div>
        </>
      )}
    </section>
  );
}
