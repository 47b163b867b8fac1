/**
 * The US equity market calendar (used by the simulated gateway, validation and integrity checks): weekends and NYSE full-day holidays are closed,
 * sessions are 09:30–16:00 America/New_York (regular) or 04:00–20:00 (extended), and on NYSE's early-close days
 * 09:30–13:00 (extended until 17:00). The New York offset follows the US DST rule (second Sunday of March to
 * first Sunday of November), so no Intl is needed.
 */

const DAY_MS = 86_400_000;

/** Epoch day number (days since 1970-01-01 UTC) of a UTC calendar date. */
export function epochDay(year: number, month: number, day: number): number {
  return Math.floor(Date.UTC(year, month - 1, day) / DAY_MS);
}

function nthWeekday(year: number, month: number, weekday: number, n: number): number {
  const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  const day = 1 + ((weekday - first + 7) % 7) + (n - 1) * 7;
  return epochDay(year, month, day);
}

function lastWeekday(year: number, month: number, weekday: number): number {
  const lastDate = new Date(Date.UTC(year, month, 0));
  const diff = (lastDate.getUTCDay() - weekday + 7) % 7;
  return epochDay(year, month, lastDate.getUTCDate() - diff);
}

function easterSunday(year: number): number {
  // Anonymous Gregorian algorithm.
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return epochDay(year, month, day);
}

/** Fixed-date holiday observed on Friday when it falls on Saturday, Monday when on Sunday. */
function observed(year: number, month: number, day: number, allowFridayBefore = true): number | null {
  const d = epochDay(year, month, day);
  const wd = weekday(d);
  if (wd === 6) return allowFridayBefore ? d - 1 : null;
  if (wd === 0) return d + 1;
  return d;
}

const holidayCache = new Map<number, Set<number>>();

/** NYSE full-day closures of a year, as epoch days. */
export function marketHolidays(year: number): Set<number> {
  let set = holidayCache.get(year);
  if (set) return set;
  const days: (number | null)[] = [
    // New Year's Day on a Saturday is not observed on the Friday before (NYSE rule 51.10).
    observed(year, 1, 1, false),
    nthWeekday(year, 1, 1, 3), // Martin Luther King Jr. Day
    nthWeekday(year, 2, 1, 3), // Washington's Birthday
    easterSunday(year) - 2, // Good Friday
    lastWeekday(year, 5, 1), // Memorial Day
    year >= 2022 ? observed(year, 6, 19) : null, // Juneteenth
    observed(year, 7, 4), // Independence Day
    nthWeekday(year, 9, 1, 1), // Labor Day
    nthWeekday(year, 11, 4, 4), // Thanksgiving
    observed(year, 12, 25), // Christmas
  ];
  set = new Set(days.filter((d): d is number => d !== null));
  holidayCache.set(year, set);
  return set;
}

const earlyCloseCache = new Map<number, Set<number>>();

/**
 * NYSE early closes (13:00 New York) of a year, as epoch days: the day before Independence Day when
 * July 4 falls Tuesday–Friday, the day after Thanksgiving, and Christmas Eve when Christmas falls
 * Tuesday–Friday. (When July 4 or Christmas is on a weekend, the observed full-day holiday takes the
 * place of the early close.)
 */
export function earlyCloses(year: number): Set<number> {
  let set = earlyCloseCache.get(year);
  if (set) return set;
  const tueToFri = (d: number) => weekday(d) >= 2 && weekday(d) <= 5;
  const july4 = epochDay(year, 7, 4);
  const christmas = epochDay(year, 12, 25);
  const days = [
    tueToFri(july4) ? july4 - 1 : null,
    nthWeekday(year, 11, 4, 4) + 1, // the Friday after Thanksgiving
    tueToFri(christmas) ? christmas - 1 : null,
  ];
  set = new Set(days.filter((d): d is number => d !== null));
  earlyCloseCache.set(year, set);
  return set;
}

export function isEarlyClose(day: number): boolean {
  return earlyCloses(new Date(day * DAY_MS).getUTCFullYear()).has(day);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function isTradingDay(day: number): boolean {
  const wd = weekday(day);
  if (wd === 0 || wd === 6) return false;
  const year = new Date(day * DAY_MS).getUTCFullYear();
  return !marketHolidays(year).has(day);
}

/** Minutes to add to New York local time to get UTC (240 in summer, 300 in winter) for a date. */
export function newYorkOffsetMinutes(day: number): number {
  const year = new Date(day * DAY_MS).getUTCFullYear();
  const dstStart = nthWeekday(year, 3, 0, 2);
  const dstEnd = nthWeekday(year, 11, 0, 1);
  return day >= dstStart && day < dstEnd ? 240 : 300;
}

/** Session [open, close) in epoch ms UTC of a trading date (three hours shorter on an early-close day). */
export function sessionBounds(day: number, useRTH: boolean): { open: number; close: number } {
  const offset = newYorkOffsetMinutes(day) * 60_000;
  const midnightLocal = day * DAY_MS + offset;
  const early = isEarlyClose(day) ? 3 * 3_600_000 : 0;
  return useRTH
    ? { open: midnightLocal + (9 * 60 + 30) * 60_000, close: midnightLocal + 16 * 3_600_000 - early }
    : { open: midnightLocal + 4 * 3_600_000, close: midnightLocal + 20 * 3_600_000 - early };
}

export { DAY_MS };
