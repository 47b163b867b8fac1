/** Public face of core/calendar: the US equity trading calendar (holidays, early closes, sessions, New York offset). */
export {
  DAY_MS,
  earlyCloses,
  epochDay,
  isEarlyClose,
  isTradingDay,
  marketHolidays,
  newYorkOffsetMinutes,
  sessionBounds,
  weekday,
} from './trading-calendar';
