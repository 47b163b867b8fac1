/**
 * Bar sizes, IBKR's longest duration per request, and splitting a range into requests.
 *
 * IBKR's table (IBKR-NOTES): 1800 S for 1 s bars; 3600 S for 5 s–30 s; 1 D for 1–2 min; 1 W for 3–20 min;
 * 1 M for 30 min–8 h; 1 Y for 1 day–1 month. Pieces are cut backwards from `end` with fixed lengths
 * (1 D = 86,400 s, 1 W = 7 days, 1 M = 30 days, 1 Y = 365 days) and each piece's duration is sent as the
 * smallest string that covers it: seconds up to a day, whole days beyond. Any bars IBKR returns outside a
 * piece are filtered out by the caller, so a covering duration never loses or duplicates a bar.
 */
import { BAR_SIZES, type BarSize } from './types';

const SECOND = 1000;
const DAY = 86_400_000;

/** Nominal length of one bar in ms (1 week = 7 days, 1 month = 30 days: only used for sizing). */
export const BAR_SIZE_MS: Record<BarSize, number> = {
  '1 secs': SECOND,
  '5 secs': 5 * SECOND,
  '10 secs': 10 * SECOND,
  '15 secs': 15 * SECOND,
  '30 secs': 30 * SECOND,
  '1 min': 60 * SECOND,
  '2 mins': 120 * SECOND,
  '3 mins': 180 * SECOND,
  '5 mins': 300 * SECOND,
  '10 mins': 600 * SECOND,
  '15 mins': 900 * SECOND,
  '20 mins': 1200 * SECOND,
  '30 mins': 1800 * SECOND,
  '1 hour': 3600 * SECOND,
  '2 hours': 7200 * SECOND,
  '3 hours': 10_800 * SECOND,
  '4 hours': 14_400 * SECOND,
  '8 hours': 28_800 * SECOND,
  '1 day': DAY,
  '1 week': 7 * DAY,
  '1 month': 30 * DAY,
};

/** Longest span one request may cover, in ms, and IBKR's name for it. */
export function maxDuration(barSize: BarSize): { ms: number; ibkr: string } {
  const ms = BAR_SIZE_MS[barSize];
  if (ms <= SECOND) return { ms: 1800 * SECOND, ibkr: '1800 S' };
  if (ms <= 30 * SECOND) return { ms: 3600 * SECOND, ibkr: '3600 S' };
  if (ms <= 120 * SECOND) return { ms: DAY, ibkr: '1 D' };
  if (ms <= 1200 * SECOND) return { ms: 7 * DAY, ibkr: '1 W' };
  if (ms < DAY) return { ms: 30 * DAY, ibkr: '1 M' };
  return { ms: 365 * DAY, ibkr: '1 Y' };
}

/** Bars of 30 seconds or less: IBKR's hard pacing rules apply to these. */
export function isSmallBar(barSize: BarSize): boolean {
  return BAR_SIZE_MS[barSize] <= 30 * SECOND;
}

export function isDailyOrLonger(barSize: BarSize): boolean {
  return BAR_SIZE_MS[barSize] >= DAY;
}

export function isBarSize(value: string): value is BarSize {
  return (BAR_SIZES as readonly string[]).includes(value);
}

/** The smallest IBKR duration string covering `spanMs`: "N S" up to a day, "N D" beyond (always days for daily bars). */
export function durationString(spanMs: number, barSize?: BarSize): string {
  if (spanMs <= DAY && !(barSize && isDailyOrLonger(barSize))) return `${Math.max(1, Math.ceil(spanMs / SECOND))} S`;
  return `${Math.ceil(spanMs / DAY)} D`;
}

/** Parses "N S|D|W|M|Y" into ms (M = 31 days, Y = 366 days: generous, callers filter). */
export function parseDuration(text: string): number | null {
  const m = /^(\d+) ([SDWMY])$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  if (n <= 0) return null;
  const unit = { S: SECOND, D: DAY, W: 7 * DAY, M: 31 * DAY, Y: 366 * DAY }[m[2] as 'S' | 'D' | 'W' | 'M' | 'Y'];
  return n * unit;
}

export interface RangePiece {
  /** Inclusive start, epoch ms UTC. */
  start: number;
  /** Exclusive end, epoch ms UTC; sent as endDateTime. */
  end: number;
  /** IBKR duration string covering [start, end). */
  durationStr: string;
  /** `yyyyMMdd-HH:mm:ss` in UTC (explicit zone form). */
  endDateTime: string;
}

/** Cuts [start, end) into pieces no longer than IBKR allows for the bar size, newest first. */
export function splitRange(start: number, end: number, barSize: BarSize): RangePiece[] {
  if (!(end > start)) return [];
  const { ms } = maxDuration(barSize);
  const pieces: RangePiece[] = [];
  for (let pieceEnd = end; pieceEnd > start; pieceEnd -= ms) {
    const pieceStart = Math.max(start, pieceEnd - ms);
    pieces.push({
      start: pieceStart,
      end: pieceEnd,
      durationStr: durationString(pieceEnd - pieceStart, barSize),
      endDateTime: formatEndDateTime(pieceEnd),
    });
  }
  return pieces;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `yyyyMMdd-HH:mm:ss`, the UTC form IBKR accepts without a zone name. */
export function formatEndDateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** `yyyyMMdd` of a UTC date. */
export function formatYmd(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
}

/**
 * A bar's time as IBKR sends it → epoch ms UTC. `yyyyMMdd` (daily and longer) → 00:00 UTC of that date;
 * epoch seconds (formatDate=2, what we ask for) → ms; `yyyyMMdd-HH:mm:ss` / `… UTC` → that UTC instant;
 * `yyyyMMdd HH:mm:ss US/Eastern` (formatDate=1 on recent TWS) → that zone's wall time; and with no zone at all
 * (older TWS, formatDate=1) the TWS login time zone, which is the machine's own — TWS runs beside Marketdesk.
 * Anything else is null: the caller refuses the answer rather than dropping bars.
 */
export function parseBarTime(text: string): number | null {
  const t = text.trim();
  if (/^\d{8}$/.test(t)) return Date.UTC(Number(t.slice(0, 4)), Number(t.slice(4, 6)) - 1, Number(t.slice(6, 8)));
  if (/^\d{9,11}$/.test(t)) return Number(t) * 1000;
  const m = /^(\d{4})(\d{2})(\d{2})(-|\s+)(\d{2}):(\d{2}):(\d{2})(?:\s+([A-Za-z][\w+\-/]*))?$/.exec(t);
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[5], +m[6], +m[7]);
  const zone = m[8];
  if ((zone === undefined && m[4] === '-') || zone === 'UTC' || zone === 'GMT') return wall;
  return zonedWallTimeToUtc(wall, zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
}

/** A wall-clock time (given as if it were UTC) in an IANA zone → the UTC instant; null for an unknown zone. */
function zonedWallTimeToUtc(wall: number, zone: string): number | null {
  let offset: number;
  try {
    offset = zoneOffsetMs(wall, zone);
  } catch {
    return null;
  }
  // The offset at the guessed instant can differ across a DST change: one correction settles it.
  const guess = wall - offset;
  return wall - zoneOffsetMs(guess, zone);
}

/** How far `zone`'s wall clock is ahead of UTC at `instant`. */
function zoneOffsetMs(instant: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instant / 1000) * 1000;
}
