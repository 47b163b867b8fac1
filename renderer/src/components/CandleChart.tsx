/**
 * Candlestick + volume chart on a canvas (lightweight-charts v5). The bar columns go straight from
 * the API response into the chart's data arrays in one tight loop: no per-point React state.
 * The container gets data-chart-ready="true" (and data-bars, data-draw-ms) once the chart has painted.
 */
import {
  type CandlestickData,
  CandlestickSeries,
  ColorType,
  createChart,
  type HistogramData,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  TickMarkType,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useRef } from 'react';

export type NumberColumn = ArrayLike<number>;

export interface ChartColumns {
  ts: NumberColumn;
  open: NumberColumn;
  high: NumberColumn;
  low: NumberColumn;
  close: NumberColumn;
  volume: NumberColumn;
}

export interface CandleChartProps {
  columns: ChartColumns | null;
  /** performance.now() when the user asked for this data; the draw time is measured from it. */
  requestedAt?: number;
  intraday: boolean;
  onDrawn?: (info: { bars: number; ms: number }) => void;
}

const UP = '#3fb950';
const DOWN = '#f85149';

export function CandleChart({ columns, requestedAt, intraday, onDrawn }: CandleChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<{ api: IChartApi; candles: ISeriesApi<'Candlestick'>; volume: ISeriesApi<'Histogram'> } | null>(null);

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const api = createChart(el, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: '#0f1419' },
        textColor: '#8a96a8',
        panes: { separatorColor: '#2a3543' },
      },
      grid: { vertLines: { color: '#1d2631' }, horzLines: { color: '#1d2631' } },
      // The default stops zooming out at 0.5 px a bar (~3 days of 1-minute bars on screen). At 0.05, ~25,000 bars fit
      // (two months of 1-minute RTH bars); smaller spacing draws every one of 100k bars and doubles the first paint.
      timeScale: { borderColor: '#2a3543', minBarSpacing: 0.05 },
      rightPriceScale: { borderColor: '#2a3543' },
    });
    const candles = api.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
    });
    const volume = api.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, color: '#4c9aff' }, 1);
    api.panes()[1]?.setStretchFactor(0.25);
    chart.current = { api, candles, volume };
    return () => {
      chart.current = null;
      api.remove();
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    const el = container.current;
    if (!c || !el) return;
    el.dataset.chartReady = 'false';
    if (!columns) {
      c.candles.setData([]);
      c.volume.setData([]);
      el.dataset.bars = '0';
      return;
    }
    const n = columns.ts.length;
    const candleData = new Array<CandlestickData>(n);
    const volumeData = new Array<HistogramData>(n);
    const { ts, open, high, low, close, volume } = columns;
    for (let i = 0; i < n; i++) {
      const time = (ts[i] / 1000) as UTCTimestamp;
      const o = open[i];
      const cl = close[i];
      candleData[i] = { time, open: o, high: high[i], low: low[i], close: cl };
      const v = volume[i];
      volumeData[i] = {
        time,
        value: Number.isFinite(v) ? v : 0,
        color: cl >= o ? 'rgba(63,185,80,0.45)' : 'rgba(248,81,73,0.45)',
      };
    }
    // Intraday bars are shown in the trader's own clock (the chart draws UTC); daily bars keep their date.
    c.api.applyOptions({
      timeScale: {
        timeVisible: intraday,
        secondsVisible: false,
        tickMarkFormatter: intraday ? localTick : undefined,
      },
      localization: { timeFormatter: intraday ? localTime : undefined },
    });
    c.candles.setData(candleData);
    c.volume.setData(volumeData);
    c.api.timeScale().fitContent();
    let cancelled = false;
    // lightweight-charts paints on the next animation frame; the frame after that has it on screen.
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        if (cancelled) return;
        const ms = requestedAt === undefined ? 0 : Math.round(performance.now() - requestedAt);
        el.dataset.bars = String(n);
        el.dataset.drawMs = String(ms);
        el.dataset.drawnAt = String(performance.now());
        el.dataset.chartReady = 'true';
        onDrawn?.({ bars: n, ms });
      }),
    );
    return () => {
      cancelled = true;
    };
  }, [columns, requestedAt, intraday, onDrawn]);

  return <div ref={container} className="candle-chart" data-testid="chart" data-chart-ready="false" data-bars="0" />;
}

const LOCAL_TIME = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const LOCAL_DAY = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const LOCAL_FULL = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function localTick(time: Time, type: TickMarkType): string | null {
  if (typeof time !== 'number') return null;
  const d = new Date(time * 1000);
  if (type === TickMarkType.Time || type === TickMarkType.TimeWithSeconds) return LOCAL_TIME.format(d);
  if (type === TickMarkType.DayOfMonth) return LOCAL_DAY.format(d);
  return null;
}

function localTime(time: Time): string {
  return typeof time === 'number' ? LOCAL_FULL.format(new Date(time * 1000)) : String(time);
}
