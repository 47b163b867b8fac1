/**
 * IbGatewaySimulator: a TCP server speaking the TWS socket protocol (text protocol, server version ≤ 193)
 * well enough for the real @stoqey/ib client. Used by tests, benches and `--demo` mode.
 *
 * Supported: handshake and version negotiation, START_API → MANAGED_ACCTS + NEXT_VALID_ID + farm notices,
 * REQ_IDS, REQ_MANAGED_ACCTS, REQ_CURRENT_TIME, REQ_CONTRACT_DATA (stocks), REQ_HISTORICAL_DATA and its
 * cancel. Fault switches: latency, unknown symbols (200), no permission (354), no data (162 HMDS), pacing
 * violations (162), dropped connections, client id in use (326), a gateway that never sends NEXT_VALID_ID,
 * connectivity notices (1100/1101/1102). Every request received is counted in `stats` and `requestLog`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { newYorkOffsetMinutes } from '../../calendar';
import { isBarSize, isSmallBar, parseDuration } from '../durations';
import type { BarSize } from '../types';
import { generateBars, hashString, type SimBar } from './bars';
import { encodeFrame, type Field, FrameReader } from './wire';

/** Message ids (client → gateway). */
const OUT = {
  REQ_CONTRACT_DATA: 9,
  REQ_IDS: 8,
  REQ_MANAGED_ACCTS: 17,
  REQ_HISTORICAL_DATA: 20,
  CANCEL_HISTORICAL_DATA: 25,
  REQ_CURRENT_TIME: 49,
  START_API: 71,
} as const;
/** Message ids (gateway → client). */
const IN = {
  ERR_MSG: 4,
  NEXT_VALID_ID: 9,
  CONTRACT_DATA: 10,
  MANAGED_ACCTS: 15,
  HISTORICAL_DATA: 17,
  CURRENT_TIME: 49,
  CONTRACT_DATA_END: 52,
} as const;

/** Server versions at which message layouts change (from @stoqey/ib MIN_SERVER_VER). */
const SV = {
  MD_SIZE_MULTIPLIER: 110,
  AGG_GROUP: 121,
  UNDERLYING_INFO: 122,
  SYNT_REALTIME_BARS: 124,
  MARKET_RULES: 126,
  REAL_EXPIRATION_DATE: 134,
  STOCK_TYPE: 152,
  FRACTIONAL_SIZE_SUPPORT: 163,
  SIZE_RULES: 164,
  ADVANCED_ORDER_REJECT: 166,
  BOND_ISSUERID: 176,
  LAST_TRADE_DATE: 182,
  INELIGIBILITY_REASONS: 186,
  MAX: 193,
} as const;

export const SIM_MESSAGES = {
  unknownSymbol: 'No security definition has been found for the request',
  noPermission:
    'Requested market data is not subscribed. Check API status by selecting the Account menu then under Management choose Market Data Subscription Manager.',
  pacing: 'Historical Market Data Service error message:Historical data request pacing violation',
  noData: (symbol: string, what: string) =>
    `Historical Market Data Service error message:HMDS query returned no data: ${symbol}@SMART ${what}`,
  clientIdInUse: 'Unable to connect as the client id is already in use. Retry with a unique client id.',
  tooMany: "Error processing request:-'bP' : cause - Only 50 simultaneous API historical data requests allowed.",
  badEnd:
    'End Date/Time: The date, time, or time-zone entered is invalid. The correct format is yyyymmdd hh:mm:ss xx/xxxx; you can also provide yyyymmdd-hh:mm:ss in UTC.',
  badBarSize: "Error validating request.-'bP' : cause - Historical data bar size setting is invalid.",
  badDuration: "Error validating request.-'bP' : cause - Historical data query duration is invalid.",
  1100: 'Connectivity between IB and Trader Workstation has been lost.',
  1101: 'Connectivity between IB and Trader Workstation has been restored - data lost.',
  1102: 'Connectivity between IB and Trader Workstation has been restored - data maintained.',
} as const;

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Highest server version offered (100..193, default 193); the client's maximum caps it. */
  serverVersion?: number;
  accounts?: string[];
  /** Added delay before answering contract and historical requests. */
  latencyMs?: number;
  /** When set, only these symbols resolve; others get 200. */
  knownSymbols?: string[];
  unknownSymbols?: string[];
  /** Historical requests for these get 354. */
  noPermissionSymbols?: string[];
  /** Historical requests for these get 162 "HMDS query returned no data". */
  noDataSymbols?: string[];
  /** No bars before this date: symbol → `yyyy-mm-dd` or epoch ms. */
  listingDates?: Record<string, string | number>;
  /** Primary exchange per symbol in contract details (default: what the request asked for, else NASDAQ). */
  primaryExchanges?: Record<string, string>;
  /** Every Nth historical request (counting all received) gets a 162 pacing violation. */
  pacingViolationEvery?: number;
  /** The next N historical requests get a 162 pacing violation. */
  pacingViolations?: number;
  /** Enforce IBKR's hard pacing rules for bars ≤ 30 s (identical within 15 s, 6 per 2 s, 60 per 10 min). */
  enforcePacing?: boolean;
  /** true: drop the connection when the next historical request arrives; N: on the Nth from now. One-shot. */
  dropConnectionOnRequest?: boolean | number;
  /** Client ids that are "taken" (326 then close). Two live connections with one id also get 326. */
  clientIdInUse?: number[];
  neverSendNextValidId?: boolean;
  /** Send the farm notices 2104/2106/2158 after START_API (default true). */
  connectivityNotices?: boolean;
  /** Clock for "now" (empty endDateTime, current time, pacing). */
  now?: () => number;
  /**
   * How intraday bar times go on the wire: epoch seconds (formatDate=2, the default), `yyyyMMdd HH:mm:ss
   * US/Eastern` as recent TWS send with formatDate=1, or text no client can read (a broken gateway).
   */
  intradayTimeFormat?: 'epoch' | 'tws-zone' | 'unreadable';
}

export type SimRequestType = 'handshake' | 'startApi' | 'historical' | 'contract' | 'cancel' | 'currentTime' | 'other';

export interface SimRequest {
  type: SimRequestType;
  at: number;
  clientId: number | null;
  reqId?: number;
  symbol?: string;
  barSize?: string;
  duration?: string;
  end?: string;
  whatToShow?: string;
  useRTH?: boolean;
  /** What the simulator answered: bars, an error code, or dropped. */
  outcome?: string;
}

export interface SimulatorStats {
  connections: number;
  activeConnections: number;
  historicalRequests: number;
  contractRequests: number;
  cancels: number;
  currentTimeRequests: number;
  barsSent: number;
  errorsSent: Record<number, number>;
  droppedConnections: number;
  /** Most historical requests open at the same time (answered after latency). */
  maxOpenHistorical: number;
}

interface Conn {
  socket: Socket;
  reader: FrameReader;
  serverVersion: number;
  clientId: number | null;
  timers: Map<number, NodeJS.Timeout>;
  /** Historical requests of this connection still waiting to be answered. */
  historical: Set<number>;
}

const emptyStats = (): SimulatorStats => ({
  connections: 0,
  activeConnections: 0,
  historicalRequests: 0,
  contractRequests: 0,
  cancels: 0,
  currentTimeRequests: 0,
  barsSent: 0,
  errorsSent: {},
  droppedConnections: 0,
  maxOpenHistorical: 0,
});

export class IbGatewaySimulator {
  private options: SimulatorOptions;
  private server: Server | null = null;
  private readonly conns = new Set<Conn>();
  private nextOrderId = 1;
  private dropCountdown = 0;
  private openHistorical = 0;
  private readonly pacingHistory: { at: number; identity: string; contract: string }[] = [];
  stats: SimulatorStats = emptyStats();
  requestLog: SimRequest[] = [];
  private boundPort = 0;

  constructor(options: SimulatorOptions = {}) {
    this.options = { host: '127.0.0.1', port: 0, ...options };
    this.armDrop(options.dropConnectionOnRequest);
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  /** Starts listening; resolves to the bound port. */
  async start(): Promise<number> {
    if (this.server) return this.boundPort;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
    return this.boundPort;
  }

  /** Closes every connection and the listener. */
  async stop(): Promise<void> {
    this.dropConnections(false);
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Changes switches at runtime (only the given keys). */
  set(changes: Partial<SimulatorOptions>): void {
    this.options = { ...this.options, ...changes };
    if ('dropConnectionOnRequest' in changes) this.armDrop(changes.dropConnectionOnRequest);
  }

  get settings(): Readonly<SimulatorOptions> {
    return this.options;
  }

  resetStats(): void {
    this.stats = { ...emptyStats(), activeConnections: this.conns.size };
    this.requestLog = [];
  }

  /** Historical requests received so far, optionally for one symbol. */
  historicalRequests(symbol?: string): SimRequest[] {
    return this.requestLog.filter((r) => r.type === 'historical' && (!symbol || r.symbol === symbol));
  }

  /** Sends a connectivity notice (as IBKR does: error id -1) to every connected client. */
  sendConnectivityNotice(code: 1100 | 1101 | 1102): void {
    for (const conn of this.conns) this.sendError(conn, -1, code, SIM_MESSAGES[code]);
  }

  /** Destroys every client connection (the listener stays up, so clients can reconnect). */
  dropConnections(count = true): void {
    for (const conn of [...this.conns]) this.drop(conn, count);
  }

  private armDrop(value: boolean | number | undefined): void {
    this.dropCountdown = value === true ? 1 : typeof value === 'number' && value > 0 ? Math.floor(value) : 0;
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  private log(entry: Omit<SimRequest, 'at'>): SimRequest {
    const full = { at: this.now(), ...entry };
    this.requestLog.push(full);
    if (this.requestLog.length > 100_000) this.requestLog.splice(0, 50_000);
    return full;
  }

  private accept(socket: Socket): void {
    const conn: Conn = {
      socket,
      reader: new FrameReader(),
      serverVersion: 0,
      clientId: null,
      timers: new Map(),
      historical: new Set(),
    };
    this.conns.add(conn);
    this.stats.connections++;
    this.stats.activeConnections = this.conns.size;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      try {
        for (const item of conn.reader.push(chunk)) {
          if (item.kind === 'hello') this.onHello(conn, item.maxVersion);
          else this.onMessage(conn, item.fields);
        }
      } catch {
        this.drop(conn, false);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => this.forget(conn));
  }

  private forget(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    for (const timer of conn.timers.values()) clearTimeout(timer);
    this.openHistorical = Math.max(0, this.openHistorical - conn.historical.size);
    conn.timers.clear();
    conn.historical.clear();
    this.stats.activeConnections = this.conns.size;
  }

  private drop(conn: Conn, count: boolean): void {
    if (count) this.stats.droppedConnections++;
    this.forget(conn);
    conn.socket.destroy();
  }

  private send(conn: Conn, fields: Field[]): void {
    if (!conn.socket.destroyed) conn.socket.write(encodeFrame(fields));
  }

  private sendError(conn: Conn, id: number, code: number, message: string): void {
    this.stats.errorsSent[code] = (this.stats.errorsSent[code] ?? 0) + 1;
    const fields: Field[] = [IN.ERR_MSG, 2, id, code, message];
    if (conn.serverVersion >= SV.ADVANCED_ORDER_REJECT) fields.push('');
    this.send(conn, fields);
  }

  private onHello(conn: Conn, clientMax: number): void {
    conn.serverVersion = Math.min(this.options.serverVersion ?? SV.MAX, clientMax, SV.MAX);
    this.log({ type: 'handshake', clientId: null });
    const d = new Date(this.now());
    const pad = (n: number) => String(n).padStart(2, '0');
    const time = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
    this.send(conn, [conn.serverVersion, time]);
  }

  private onMessage(conn: Conn, f: string[]): void {
    const id = Number(f[0]);
    switch (id) {
      case OUT.START_API:
        this.onStartApi(conn, Number(f[2]));
        return;
      case OUT.REQ_IDS:
        this.log({ type: 'other', clientId: conn.clientId });
        this.send(conn, [IN.NEXT_VALID_ID, 1, this.nextOrderId++]);
        return;
      case OUT.REQ_MANAGED_ACCTS:
        this.log({ type: 'other', clientId: conn.clientId });
        this.send(conn, [IN.MANAGED_ACCTS, 1, this.accounts().join(',')]);
        return;
      case OUT.REQ_CURRENT_TIME:
        this.stats.currentTimeRequests++;
        this.log({ type: 'currentTime', clientId: conn.clientId });
        this.send(conn, [IN.CURRENT_TIME, 1, Math.floor(this.now() / 1000)]);
        return;
      case OUT.REQ_CONTRACT_DATA:
        this.onContractData(conn, f);
        return;
      case OUT.REQ_HISTORICAL_DATA:
        this.onHistoricalData(conn, f);
        return;
      case OUT.CANCEL_HISTORICAL_DATA: {
        const reqId = Number(f[2]);
        this.stats.cancels++;
        this.log({ type: 'cancel', clientId: conn.clientId, reqId });
        const timer = conn.timers.get(reqId);
        if (timer) {
          clearTimeout(timer);
          conn.timers.delete(reqId);
        }
        if (conn.historical.delete(reqId)) this.openHistorical--;
        return;
      }
      default:
        this.log({ type: 'other', clientId: conn.clientId, outcome: `message ${id}` });
    }
  }

  private accounts(): string[] {
    return this.options.accounts ?? ['DU1234567'];
  }

  private onStartApi(conn: Conn, clientId: number): void {
    const entry = this.log({ type: 'startApi', clientId });
    const taken =
      (this.options.clientIdInUse ?? []).includes(clientId) || [...this.conns].some((c) => c !== conn && c.clientId === clientId);
    if (taken) {
      entry.outcome = 'error 326';
      this.sendError(conn, -1, 326, SIM_MESSAGES.clientIdInUse);
      setTimeout(() => this.drop(conn, false), 10);
      return;
    }
    conn.clientId = clientId;
    this.send(conn, [IN.MANAGED_ACCTS, 1, this.accounts().join(',')]);
    if (!this.options.neverSendNextValidId) this.send(conn, [IN.NEXT_VALID_ID, 1, this.nextOrderId++]);
    if (this.options.connectivityNotices !== false) {
      this.sendError(conn, -1, 2104, 'Market data farm connection is OK:usfarm');
      this.sendError(conn, -1, 2106, 'HMDS data farm connection is OK:ushmds');
      this.sendError(conn, -1, 2158, 'Sec-def data farm connection is OK:secdefnj');
    }
  }

  private wireTime(b: SimBar): string {
    const format = this.options.intradayTimeFormat ?? 'epoch';
    if (format === 'epoch' || /^\d{8}$/.test(b.time)) return b.time;
    return format === 'tws-zone' ? twsZoned(b.ts) : `bar@${b.ts}`;
  }

  private isKnown(symbol: string): boolean {
    const s = symbol.toUpperCase();
    if (this.options.unknownSymbols?.map((x) => x.toUpperCase()).includes(s)) return false;
    if (this.options.knownSymbols) return this.options.knownSymbols.map((x) => x.toUpperCase()).includes(s);
    return true;
  }

  private later(conn: Conn, reqId: number, fn: () => void): void {
    const delay = this.options.latencyMs ?? 0;
    const timer = setTimeout(() => {
      conn.timers.delete(reqId);
      fn();
    }, delay);
    conn.timers.set(reqId, timer);
  }

  private onContractData(conn: Conn, f: string[]): void {
    // [9, 8, reqId, conId, symbol, secType, lastTradeDate, strike, right, multiplier, exchange, primaryExch, currency, …]
    const reqId = Number(f[2]);
    const symbol = (f[4] ?? '').toUpperCase();
    const secType = f[5] || 'STK';
    const exchange = f[10] || 'SMART';
    const primaryExch = this.options.primaryExchanges?.[symbol] ?? (f[11] || 'NASDAQ');
    const currency = f[12] || 'USD';
    this.stats.contractRequests++;
    const entry = this.log({ type: 'contract', clientId: conn.clientId, reqId, symbol });
    this.later(conn, reqId, () => {
      if (secType !== 'STK' || !this.isKnown(symbol)) {
        entry.outcome = 'error 200';
        this.sendError(conn, reqId, 200, SIM_MESSAGES.unknownSymbol);
        return;
      }
      entry.outcome = 'contract';
      this.send(conn, this.contractFields(conn.serverVersion, reqId, symbol, exchange, primaryExch, currency));
      this.send(conn, [IN.CONTRACT_DATA_END, 1, reqId]);
    });
  }

  private contractFields(
    sv: number,
    reqId: number,
    symbol: string,
    exchange: string,
    primaryExch: string,
    currency: string,
  ): Field[] {
    const conId = (hashString(symbol) % 900_000_000) + 1000;
    const fields: Field[] = [IN.CONTRACT_DATA];
    if (sv < SV.SIZE_RULES) fields.push(8);
    fields.push(reqId, symbol, 'STK', '');
    if (sv >= SV.LAST_TRADE_DATE) fields.push('');
    fields.push(0, '', exchange, currency, symbol, 'NMS', symbol, conId, 0.01);
    if (sv >= SV.MD_SIZE_MULTIPLIER && sv < SV.SIZE_RULES) fields.push(1);
    fields.push('', 'ACTIVETIM,AD,ALERT,ALLOC,LMT,MKT,STP', `SMART,${primaryExch}`, 1, 0);
    fields.push(`${symbol} INC (simulated)`, primaryExch);
    fields.push('', 'Technology', 'Semiconductors', 'Semiconductors', 'US/Eastern');
    fields.push('20260105:0400-20260105:2000', '20260105:0930-20260105:1600');
    fields.push('', 0); // evRule, evMultiplier
    fields.push(1, 'ISIN', `US${String(conId).padStart(9, '0')}0`); // secIdList
    if (sv >= SV.AGG_GROUP) fields.push(1);
    if (sv >= SV.UNDERLYING_INFO) fields.push('', '');
    if (sv >= SV.MARKET_RULES) fields.push('26,26');
    if (sv >= SV.REAL_EXPIRATION_DATE) fields.push('');
    if (sv >= SV.STOCK_TYPE) fields.push('COMMON');
    if (sv >= SV.FRACTIONAL_SIZE_SUPPORT && sv < SV.SIZE_RULES) fields.push('0.0001');
    if (sv >= SV.SIZE_RULES) fields.push('0.0001', '0.0001', '100');
    if (sv >= SV.INELIGIBILITY_REASONS) fields.push(0);
    return fields;
  }

  private parseEnd(text: string): number | null {
    const t = text.trim();
    if (t === '') return this.now();
    let m = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})$/.exec(t);
    if (m) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    m = /^(\d{4})(\d{2})(\d{2}) +(\d{2}):(\d{2}):(\d{2}) +(\S+)$/.exec(t);
    if (!m) return null;
    const asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    const zone = m[7];
    if (zone === 'UTC' || zone === 'GMT') return asUtc;
    if (zone === 'US/Eastern' || zone === 'America/New_York' || zone === 'EST5EDT') {
      return asUtc + newYorkOffsetMinutes(Math.floor(asUtc / 86_400_000)) * 60_000;
    }
    return null;
  }

  private listedAt(symbol: string): number | undefined {
    const v = this.options.listingDates?.[symbol];
    if (v === undefined) return undefined;
    return typeof v === 'number' ? v : Date.parse(`${v}T00:00:00Z`);
  }

  private pacingBroken(identity: string, contract: string): boolean {
    const now = this.now();
    const h = this.pacingHistory;
    while (h.length && h[0].at < now - 600_000) h.shift();
    const identical = h.some((r) => r.identity === identity && r.at > now - 15_000);
    const burst = h.filter((r) => r.contract === contract && r.at > now - 2_000).length >= 5;
    const window = h.length >= 60;
    h.push({ at: now, identity, contract });
    return identical || burst || window;
  }

  private onHistoricalData(conn: Conn, f: string[]): void {
    const sv = conn.serverVersion;
    const o = sv < SV.SYNT_REALTIME_BARS ? 1 : 0; // version field before reqId on old servers
    const reqId = Number(f[1 + o]);
    const symbol = (f[3 + o] ?? '').toUpperCase();
    const secType = f[4 + o] || 'STK';
    const endText = f[15 + o] ?? '';
    const barSize = f[16 + o] ?? '';
    const duration = f[17 + o] ?? '';
    const useRTH = f[18 + o] === '1';
    const whatToShow = f[19 + o] || 'TRADES';
    this.stats.historicalRequests++;
    const seq = this.stats.historicalRequests;
    const entry = this.log({
      type: 'historical',
      clientId: conn.clientId,
      reqId,
      symbol,
      barSize,
      duration,
      end: endText,
      whatToShow,
      useRTH,
    });

    if (this.dropCountdown > 0 && --this.dropCountdown === 0) {
      entry.outcome = 'dropped';
      this.drop(conn, true);
      return;
    }
    this.openHistorical++;
    conn.historical.add(reqId);
    this.stats.maxOpenHistorical = Math.max(this.stats.maxOpenHistorical, this.openHistorical);
    const fail = (code: number, message: string) => {
      entry.outcome = `error ${code}`;
      this.sendError(conn, reqId, code, message);
    };
    const tooMany = this.openHistorical > 50;
    const forcedPacing =
      (this.options.pacingViolations ?? 0) > 0 ||
      (this.options.pacingViolationEvery ? seq % this.options.pacingViolationEvery === 0 : false);
    if ((this.options.pacingViolations ?? 0) > 0) this.options.pacingViolations = (this.options.pacingViolations ?? 0) - 1;
    const enforced =
      this.options.enforcePacing && isBarSize(barSize) && isSmallBar(barSize)
        ? this.pacingBroken(`${symbol}|${endText}|${duration}|${barSize}|${whatToShow}|${useRTH}`, `${symbol}|${whatToShow}`)
        : false;

    this.later(conn, reqId, () => {
      if (conn.historical.delete(reqId)) this.openHistorical--;
      if (tooMany) return fail(322, SIM_MESSAGES.tooMany);
      if (secType !== 'STK' || !this.isKnown(symbol)) return fail(200, SIM_MESSAGES.unknownSymbol);
      if (this.options.noPermissionSymbols?.map((s) => s.toUpperCase()).includes(symbol))
        return fail(354, SIM_MESSAGES.noPermission);
      if (forcedPacing || enforced) return fail(162, SIM_MESSAGES.pacing);
      if (!isBarSize(barSize)) return fail(321, SIM_MESSAGES.badBarSize);
      const span = parseDuration(duration);
      if (span === null) return fail(321, SIM_MESSAGES.badDuration);
      const end = this.parseEnd(endText);
      if (end === null) return fail(10314, SIM_MESSAGES.badEnd);
      if (this.options.noDataSymbols?.map((s) => s.toUpperCase()).includes(symbol)) {
        return fail(162, SIM_MESSAGES.noData(symbol, whatToShow));
      }
      const bars = generateBars(symbol, barSize as BarSize, end - span, end, { useRTH, listedAt: this.listedAt(symbol) });
      if (bars.length === 0) return fail(162, SIM_MESSAGES.noData(symbol, whatToShow));
      const trades = whatToShow === 'TRADES';
      const fields: Field[] = [IN.HISTORICAL_DATA];
      if (sv < SV.SYNT_REALTIME_BARS) fields.push(3);
      fields.push(reqId, fmt(end - span), fmt(end), bars.length);
      for (const b of bars) {
        fields.push(this.wireTime(b), b.open, b.high, b.low, b.close, trades ? b.volume : -1, trades ? b.wap : -1);
        if (sv < SV.SYNT_REALTIME_BARS) fields.push(0);
        fields.push(trades ? b.count : -1);
      }
      entry.outcome = `${bars.length} bars`;
      this.stats.barsSent += bars.length;
      this.send(conn, fields);
    });
  }
}

const EASTERN_WALL = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** `yyyyMMdd HH:mm:ss US/Eastern` of an instant. */
function twsZoned(ms: number): string {
  const p = Object.fromEntries(EASTERN_WALL.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.year}${p.month}${p.day} ${p.hour}:${p.minute}:${p.second} US/Eastern`;
}

function fmt(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
