/**
 * The seam between IBKR and the bar cache. core/marketdata depends only on these types;
 * core/ibkr implements `HistoricalSource` over @stoqey/ib (and the simulator speaks the same wire).
 */
import { AppError } from '../platform/errors';

/** IBKR bar size strings, exactly as the API expects them. */
export const BAR_SIZES = [
  '1 secs',
  '5 secs',
  '10 secs',
  '15 secs',
  '30 secs',
  '1 min',
  '2 mins',
  '3 mins',
  '5 mins',
  '10 mins',
  '15 mins',
  '20 mins',
  '30 mins',
  '1 hour',
  '2 hours',
  '3 hours',
  '4 hours',
  '8 hours',
  '1 day',
  '1 week',
  '1 month',
] as const;
export type BarSize = (typeof BAR_SIZES)[number];

export type WhatToShow = 'TRADES' | 'MIDPOINT' | 'BID' | 'ASK' | 'BID_ASK' | 'ADJUSTED_LAST';

export interface HistoricalBarsRequest {
  symbol: string;
  /** Primary exchange, e.g. NASDAQ (routing is SMART). */
  exchange: string;
  currency?: string;
  barSize: BarSize;
  whatToShow: WhatToShow;
  useRTH: boolean;
  /** Inclusive start, epoch ms UTC. */
  start: number;
  /** Exclusive end, epoch ms UTC. */
  end: number;
}

/** One bar; `ts` is the bar's start in epoch ms UTC (daily bars: 00:00 UTC of the trading date). */
export interface RawBar {
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  wap: number;
  count: number;
}

export interface HistoricalFetchProgress {
  symbol: string;
  /** Requests done / planned for this fetch (after splitting the range). */
  done: number;
  total: number;
  /** Set while a request waits to be sent again (pacing violation, timeout, dropped connection): why, and when. */
  retrying?: string;
}

export interface HistoricalFetchOptions {
  signal?: AbortSignal;
  onProgress?: (p: HistoricalFetchProgress) => void;
  /**
   * Each piece of the split range as it arrives: its [start, end) and its bars in it. A caller can keep
   * these when a later piece fails, so a long fetch cut short is not fetched again from the start.
   */
  onPiece?: (piece: { start: number; end: number }, bars: RawBar[]) => void;
}

/**
 * Where bars come from. Implementations split the range by IBKR's maximum duration per bar size,
 * pace every request through the PacingLimiter, retry pacing violations and timeouts with backoff,
 * and return the bars in [start, end) sorted by ts. "No data" for a range returns [] (not an error).
 */
export interface HistoricalSource {
  fetchBars(request: HistoricalBarsRequest, options?: HistoricalFetchOptions): Promise<RawBar[]>;
}

/** An IBKR failure with its numeric code (200 unknown symbol, 354 no permission, 502 not connected …). */
export class IbkrError extends AppError {
  readonly ibkrCode: number | null;

  constructor(code: string, message: string, ibkrCode: number | null = null, options: { cause?: unknown } = {}) {
    super(code, message, { status: httpStatusOf(code), details: { ibkrCode }, cause: options.cause });
    this.ibkrCode = ibkrCode;
  }
}

/**
 * What an IBKR failure is to the caller: an unknown symbol or a missing permission is about the request
 * (4xx, nothing to retry), a gateway that cannot be reached or does not answer is a bad gateway (502/504).
 */
function httpStatusOf(code: string): number {
  switch (code) {
    case 'IBKR_UNKNOWN_SYMBOL':
      return 404;
    case 'IBKR_NO_PERMISSION':
      return 403;
    case 'IBKR_BAD_REQUEST':
    case 'IBKR_BAD_END_TIME':
      return 422;
    case 'IBKR_OFFLINE':
      return 409;
    case 'IBKR_TIMEOUT':
      return 504;
    default:
      return 502;
  }
}
