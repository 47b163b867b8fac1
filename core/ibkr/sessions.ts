/**
 * Which pieces of a fetch cannot hold bars, so they are never sent: every request draws on IBKR's pacing
 * budget (60 per 10 minutes for small bars), and a day of 1-second bars is 48 half-hour pieces of which
 * 13 meet the regular session. Only where the sessions are known for certain: US stocks (the NYSE
 * calendar in core/calendar), regular hours only, intraday bars. Extended hours are left alone, since
 * overnight trading makes "closed" a property of the venue, not of the clock.
 */
import { DAY_MS, isTradingDay, sessionBounds } from '../calendar';
import { isDailyOrLonger } from './durations';
import type { HistoricalBarsRequest } from './types';

/** Primary exchanges of US-listed stocks (routing is SMART). */
const US_STOCK_EXCHANGES = new Set([
  'SMART',
  'NYSE',
  'NASDAQ',
  'ISLAND',
  'ARCA',
  'NYSEARCA',
  'AMEX',
  'NYSEAMERICAN',
  'BATS',
  'IEX',
  'BYX',
  'EDGX',
  'EDGEA',
  'MEMX',
  'PSX',
  'CHX',
  'LTSE',
  'PEARL',
]);

/** True when closed-session pieces of this request can be skipped with certainty. */
export function sessionsKnown(request: HistoricalBarsRequest): boolean {
  return (
    request.useRTH &&
    !isDailyOrLonger(request.barSize) &&
    (request.currency ?? 'USD').toUpperCase() === 'USD' &&
    US_STOCK_EXCHANGES.has(request.exchange.trim().toUpperCase())
  );
}

/** Whether [start, end) meets a regular session of a US trading day (early closes and DST included). */
export function meetsRegularSession(start: number, end: number): boolean {
  for (let day = Math.floor(start / DAY_MS); day * DAY_MS < end; day++) {
    if (!isTradingDay(day)) continue;
    const { open, close } = sessionBounds(day, true);
    if (open < end && close > start) return true;
  }
  return false;
}
