/** Public face of core/calendar: the US equity trading calendar (holidays, sessions, New York offset). */
export {
  DAY_MS,
  epochDay,
  isTradingDay,
  marketHolidays,
  newYorkOffsetMinutes,
  sessionBounds,
  weekday,
} from './trading-calendar';
