/**
 * IBKR error codes → IbkrError with a stable `code` and a message a trader can act on.
 * 162 is one code with many meanings, so it is told apart by its text.
 */
import { IbkrError } from './types';

export const IBKR_ERROR_CODES = {
  PACING: 'IBKR_PACING',
  NO_DATA: 'IBKR_NO_DATA',
  NO_PERMISSION: 'IBKR_NO_PERMISSION',
  UNKNOWN_SYMBOL: 'IBKR_UNKNOWN_SYMBOL',
  BAD_REQUEST: 'IBKR_BAD_REQUEST',
  TOO_MANY_REQUESTS: 'IBKR_TOO_MANY_REQUESTS',
  MESSAGE_RATE: 'IBKR_MESSAGE_RATE',
  BAD_END_TIME: 'IBKR_BAD_END_TIME',
  CANCELLED: 'IBKR_CANCELLED',
  CLIENT_ID_IN_USE: 'IBKR_CLIENT_ID_IN_USE',
  CONNECT_FAILED: 'IBKR_CONNECT_FAILED',
  HANDSHAKE_TIMEOUT: 'IBKR_HANDSHAKE_TIMEOUT',
  NOT_CONNECTED: 'IBKR_NOT_CONNECTED',
  DISCONNECTED: 'IBKR_DISCONNECTED',
  TIMEOUT: 'IBKR_TIMEOUT',
  ABORTED: 'IBKR_ABORTED',
  OFFLINE: 'IBKR_OFFLINE',
  HISTORICAL: 'IBKR_HISTORICAL_ERROR',
  /** An answer Marketdesk cannot read (e.g. bar times in an unknown format). */
  BAD_DATA: 'IBKR_BAD_DATA',
  OTHER: 'IBKR_ERROR',
} as const;

export interface IbkrErrorContext {
  symbol?: string;
  exchange?: string;
  whatToShow?: string;
  /** e.g. "historical bars NVDA 1 day ending 20260105-00:00:00" */
  what?: string;
}

/** Maps an error IBKR reported for a request to an IbkrError. */
export function ibkrErrorFor(ibkrCode: number, text: string, ctx: IbkrErrorContext = {}): IbkrError {
  const C = IBKR_ERROR_CODES;
  const sym = ctx.symbol ? `${ctx.symbol}${ctx.exchange ? ` (${ctx.exchange})` : ''}` : 'the contract';
  const suffix = ` [IBKR ${ibkrCode}: ${text}]`;
  if (ibkrCode === 162) {
    if (/pacing violation/i.test(text))
      return new IbkrError(C.PACING, `IBKR pacing violation for ${sym}; will retry${suffix}`, 162);
    if (/returned no data/i.test(text))
      return new IbkrError(C.NO_DATA, `IBKR has no data for ${sym} in this range${suffix}`, 162);
    if (/no market data permissions|not subscribed/i.test(text)) return noPermission(sym, suffix, 162);
    if (/cancel/i.test(text)) return new IbkrError(C.CANCELLED, `IBKR cancelled the query for ${sym}${suffix}`, 162);
    return new IbkrError(C.HISTORICAL, `IBKR historical data error for ${sym}${suffix}`, 162);
  }
  switch (ibkrCode) {
    case 200:
      return new IbkrError(
        C.UNKNOWN_SYMBOL,
        `Unknown symbol ${ctx.symbol ?? '?'}${ctx.exchange ? ` on ${ctx.exchange}` : ''}: IBKR has no stock contract for it${suffix}`,
        200,
      );
    case 354:
    case 10089:
    case 10167:
    case 10168:
    case 10197:
      return noPermission(sym, suffix, ibkrCode);
    case 321:
      return new IbkrError(C.BAD_REQUEST, `IBKR refused the request for ${sym} as invalid${suffix}`, 321);
    case 322:
      return new IbkrError(C.TOO_MANY_REQUESTS, `Too many simultaneous IBKR requests; will retry${suffix}`, 322);
    case 100:
      return new IbkrError(C.MESSAGE_RATE, `IBKR message rate exceeded; will retry${suffix}`, 100);
    case 10314:
      return new IbkrError(C.BAD_END_TIME, `IBKR rejected the end date/time of the request for ${sym}${suffix}`, 10314);
    case 366:
      return new IbkrError(C.CANCELLED, `IBKR no longer knows the query for ${sym}${suffix}`, 366);
    case 326:
      return new IbkrError(C.CLIENT_ID_IN_USE, `IBKR client id already in use${suffix}`, 326);
    case 502:
      return new IbkrError(C.CONNECT_FAILED, `Cannot connect to IB Gateway / TWS${suffix}`, 502);
    case 504:
      return new IbkrError(C.NOT_CONNECTED, `Not connected to IB Gateway / TWS${suffix}`, 504);
    default:
      return new IbkrError(C.OTHER, `IBKR error for ${sym}${suffix}`, ibkrCode);
  }
}

function noPermission(sym: string, suffix: string, code: number): IbkrError {
  return new IbkrError(
    IBKR_ERROR_CODES.NO_PERMISSION,
    `No market-data permission for ${sym}: subscribe to its exchange's market data in IBKR Account Management${suffix}`,
    code,
  );
}

/** Pacing violations, timeouts and "too many requests" are retried with backoff, never surfaced as data. */
export function isRetryableIbkrError(err: unknown): boolean {
  if (!(err instanceof IbkrError)) return false;
  return (
    err.code === IBKR_ERROR_CODES.PACING ||
    err.code === IBKR_ERROR_CODES.TIMEOUT ||
    err.code === IBKR_ERROR_CODES.TOO_MANY_REQUESTS ||
    err.code === IBKR_ERROR_CODES.MESSAGE_RATE
  );
}

/** Codes that arrive with a request id but are only warnings (farm notices, fractional-size notes). */
export function isWarningCode(code: number): boolean {
  return (code >= 2100 && code < 2200) || code === 10167 || code === 399;
}
