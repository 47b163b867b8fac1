/**
 * Indicators over one symbol's closes in typed-array loops (faster here than DuckDB window functions:
 * EMA-based RSI and MACD are recursive, which SQL windows cannot express without a recursive CTE).
 * Warm-up positions are NaN and are written as NULL.
 */
import { BAR_FIELDS, type BarColumns } from '../marketdata/types';

export const INDICATOR_NAMES = [
  'return',
  'log_return',
  'range',
  'range_pct',
  'sma_20',
  'sma_50',
  'rsi_14',
  'macd',
  'macd_signal',
  'macd_hist',
] as const;
export type IndicatorName = (typeof INDICATOR_NAMES)[number];
export type IndicatorColumns = Record<IndicatorName, Float64Array>;

export function computeIndicators(bars: BarColumns): IndicatorColumns {
  const { high, low, close } = bars;
  const n = close.length;
  const out = Object.fromEntries(INDICATOR_NAMES.map((k) => [k, new Float64Array(n)])) as IndicatorColumns;
  const ret = out.return;
  const logRet = out.log_return;
  const range = out.range;
  const rangePct = out.range_pct;
  const sma20 = out.sma_20;
  const sma50 = out.sma_50;
  const rsi = out.rsi_14;
  const macd = out.macd;
  const signal = out.macd_signal;
  const hist = out.macd_hist;

  const a12 = 2 / 13;
  const a26 = 2 / 27;
  const a9 = 2 / 10;
  let ema12 = 0;
  let ema26 = 0;
  let sig = 0;
  let sum20 = 0;
  let sum50 = 0;
  let avgGain = 0;
  let avgLoss = 0;
  for (let i = 0; i < n; i++) {
    const c = close[i];
    const h = high[i];
    const l = low[i];
    range[i] = h - l;
    rangePct[i] = c !== 0 ? ((h - l) / c) * 100 : Number.NaN;
    // Simple moving averages: running sums.
    sum20 += c;
    sum50 += c;
    if (i >= 20) sum20 -= close[i - 20];
    if (i >= 50) sum50 -= close[i - 50];
    sma20[i] = i >= 19 ? sum20 / 20 : Number.NaN;
    sma50[i] = i >= 49 ? sum50 / 50 : Number.NaN;
    // MACD 12/26/9: EMAs seeded with the first close (pandas ewm adjust=False), shown after warm-up.
    if (i === 0) {
      ema12 = c;
      ema26 = c;
    } else {
      ema12 += a12 * (c - ema12);
      ema26 += a26 * (c - ema26);
    }
    const m = ema12 - ema26;
    if (i === 0) sig = m;
    else sig += a9 * (m - sig);
    macd[i] = i >= 25 ? m : Number.NaN;
    signal[i] = i >= 33 ? sig : Number.NaN;
    hist[i] = i >= 33 ? m - sig : Number.NaN;
    if (i === 0) {
      ret[i] = Number.NaN;
      logRet[i] = Number.NaN;
      rsi[i] = Number.NaN;
      continue;
    }
    const p = close[i - 1];
    const r = c / p;
    ret[i] = r - 1;
    logRet[i] = Math.log(r);
    // RSI 14 with Wilder's smoothing, seeded by the simple average of the first 14 changes.
    const change = c - p;
    const gain = Math.max(change, 0);
    const loss = change < 0 ? -change : 0;
    if (i <= 14) {
      avgGain += gain / 14;
      avgLoss += loss / 14;
      rsi[i] = i === 14 ? rsiOf(avgGain, avgLoss) : Number.NaN;
    } else {
      avgGain = (avgGain * 13 + gain) / 14;
      avgLoss = (avgLoss * 13 + loss) / 14;
      rsi[i] = rsiOf(avgGain, avgLoss);
    }
  }
  return out;
}

function rsiOf(gain: number, loss: number): number {
  if (loss === 0) return gain === 0 ? 50 : 100;
  return 100 - 100 / (1 + gain / loss);
}

/**
 * The source text of every function the indicator values depend on: a change to any of them changes
 * the write-back checksum (bars-io.ts), so an upgraded formula is rewritten instead of skipped as unchanged.
 */
export const INDICATOR_FORMULAS = [computeIndicators, rsiOf, computeIndicatorsAfter].map(String).join('\n');

/**
 * The indicators of `bars`, started from the `warmup` bars before them (the same series, earlier): a run's first
 * SMA 50, RSI and MACD values then equal those of a run over a longer range, instead of being empty or seeded at
 * the run's first bar. Returns the rows of `bars` only.
 */
export function computeIndicatorsAfter(warmup: BarColumns | null | undefined, bars: BarColumns): IndicatorColumns {
  const w = warmup?.ts.length ?? 0;
  if (!warmup || w === 0) return computeIndicators(bars);
  const joined = Object.fromEntries(
    BAR_FIELDS.map((k) => {
      const a = new Float64Array(w + bars[k].length);
      a.set(warmup[k], 0);
      a.set(bars[k], w);
      return [k, a];
    }),
  ) as unknown as BarColumns;
  const all = computeIndicators(joined);
  return Object.fromEntries(INDICATOR_NAMES.map((k) => [k, all[k].subarray(w)])) as IndicatorColumns;
}
