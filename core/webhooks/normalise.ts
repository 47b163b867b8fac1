/**
 * Turns one stored inbox row into warehouse rows. Pure: the same row always gives the same rows
 * (keys included), which is what makes processing and replay idempotent.
 */
import { classicToRows, type GexSnapshotRow, type GexStrikeRow, gexClassicSnapshotSchema } from '../gex';
import { warehouseJson } from '../storage';
import type { ColumnSpec, RowValues } from '../storage/upsert';
import type { InboxRow } from './inbox';
import {
  parseOccSymbol,
  parseTradingView,
  resolveUw,
  splitTicker,
  textAlertFields,
  toEpochMs,
  tradingViewAlertSchema,
} from './payloads';

export class NormaliseError extends Error {}

export interface TableRows {
  alerts: RowValues[];
  option_trades: RowValues[];
  flow_alerts: RowValues[];
  uw_events: RowValues[];
  gexSnapshots: GexSnapshotRow[];
  gexStrikes: GexStrikeRow[];
}

export function emptyRows(): TableRows {
  return { alerts: [], option_trades: [], flow_alerts: [], uw_events: [], gexSnapshots: [], gexStrikes: [] };
}

const c = (name: string, kind: ColumnSpec['kind']): ColumnSpec => ({ name, kind });

export const TABLES: Record<'alerts' | 'option_trades' | 'flow_alerts' | 'uw_events', { columns: ColumnSpec[]; key: string[] }> =
  {
    alerts: {
      key: ['event_id'],
      columns: [
        c('event_id', 'bigint'),
        c('source', 'varchar'),
        c('received_at', 'timestamp'),
        c('format', 'varchar'),
        c('ticker', 'varchar'),
        c('exchange', 'varchar'),
        c('interval', 'varchar'),
        c('bar_time', 'timestamp'),
        c('fired_at', 'timestamp'),
        c('price', 'double'),
        c('action', 'varchar'),
        c('order_id', 'varchar'),
        c('position_size', 'double'),
        c('market_position', 'varchar'),
        c('prev_market_position', 'varchar'),
        c('contracts', 'double'),
        c('message', 'varchar'),
        c('fields', 'json'),
      ],
    },
    option_trades: {
      key: ['id'],
      columns: [
        c('id', 'varchar'),
        c('event_id', 'bigint'),
        c('source', 'varchar'),
        c('ticker', 'varchar'),
        c('option_symbol', 'varchar'),
        c('expiry', 'varchar'),
        c('strike', 'double'),
        c('option_type', 'varchar'),
        c('executed_at', 'timestamp'),
        c('price', 'double'),
        c('size', 'double'),
        c('premium', 'double'),
        c('underlying_price', 'double'),
        c('nbbo_bid', 'double'),
        c('nbbo_ask', 'double'),
        c('side', 'varchar'),
        c('exchange', 'varchar'),
        c('open_interest', 'double'),
        c('volume', 'double'),
        c('implied_volatility', 'double'),
        c('delta', 'double'),
        c('gamma', 'double'),
        c('theta', 'double'),
        c('vega', 'double'),
        c('tags', 'json'),
        c('raw', 'json'),
      ],
    },
    flow_alerts: {
      key: ['id'],
      columns: [
        c('id', 'varchar'),
        c('event_id', 'bigint'),
        c('source', 'varchar'),
        c('ticker', 'varchar'),
        c('option_chain', 'varchar'),
        c('rule_id', 'varchar'),
        c('rule_name', 'varchar'),
        c('executed_at', 'timestamp'),
        c('start_time', 'timestamp'),
        c('end_time', 'timestamp'),
        c('price', 'double'),
        c('underlying_price', 'double'),
        c('bid', 'double'),
        c('ask', 'double'),
        c('total_premium', 'double'),
        c('total_size', 'double'),
        c('total_ask_side_prem', 'double'),
        c('total_bid_side_prem', 'double'),
        c('volume', 'double'),
        c('open_interest', 'double'),
        c('trade_count', 'double'),
        c('has_sweep', 'boolean'),
        c('has_floor', 'boolean'),
        c('has_multileg', 'boolean'),
        c('raw', 'json'),
      ],
    },
    uw_events: {
      key: ['dedupe_key'],
      columns: [
        c('dedupe_key', 'varchar'),
        c('event_id', 'bigint'),
        c('source', 'varchar'),
        c('topic', 'varchar'),
        c('channel', 'varchar'),
        c('ticker', 'varchar'),
        c('ts', 'timestamp'),
        c('received_at', 'timestamp'),
        c('payload', 'json'),
      ],
    },
  };

export const WEBHOOK_WAREHOUSE_SQL = `
  CREATE TABLE alerts (
    event_id BIGINT PRIMARY KEY, source VARCHAR NOT NULL, received_at TIMESTAMP NOT NULL, format VARCHAR NOT NULL,
    ticker VARCHAR, exchange VARCHAR, "interval" VARCHAR, bar_time TIMESTAMP, fired_at TIMESTAMP, price DOUBLE,
    action VARCHAR, order_id VARCHAR, position_size DOUBLE, market_position VARCHAR, prev_market_position VARCHAR,
    contracts DOUBLE, message VARCHAR, fields JSON
  );
  CREATE TABLE option_trades (
    id VARCHAR PRIMARY KEY, event_id BIGINT NOT NULL, source VARCHAR NOT NULL, ticker VARCHAR, option_symbol VARCHAR,
    expiry VARCHAR, strike DOUBLE, option_type VARCHAR, executed_at TIMESTAMP, price DOUBLE, size DOUBLE, premium DOUBLE,
    underlying_price DOUBLE, nbbo_bid DOUBLE, nbbo_ask DOUBLE, side VARCHAR, exchange VARCHAR, open_interest DOUBLE,
    volume DOUBLE, implied_volatility DOUBLE, delta DOUBLE, gamma DOUBLE, theta DOUBLE, vega DOUBLE, tags JSON, raw JSON
  );
  CREATE TABLE flow_alerts (
    id VARCHAR PRIMARY KEY, event_id BIGINT NOT NULL, source VARCHAR NOT NULL, ticker VARCHAR, option_chain VARCHAR,
    rule_id VARCHAR, rule_name VARCHAR, executed_at TIMESTAMP, start_time TIMESTAMP, end_time TIMESTAMP, price DOUBLE,
    underlying_price DOUBLE, bid DOUBLE, ask DOUBLE, total_premium DOUBLE, total_size DOUBLE, total_ask_side_prem DOUBLE,
    total_bid_side_prem DOUBLE, volume DOUBLE, open_interest DOUBLE, trade_count DOUBLE, has_sweep BOOLEAN,
    has_floor BOOLEAN, has_multileg BOOLEAN, raw JSON
  );
  CREATE TABLE uw_events (
    dedupe_key VARCHAR PRIMARY KEY, event_id BIGINT NOT NULL, source VARCHAR NOT NULL, topic VARCHAR NOT NULL,
    channel VARCHAR, ticker VARCHAR, ts TIMESTAMP, received_at TIMESTAMP NOT NULL, payload JSON
  );
`;

const n = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const s = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
const textField = (v: unknown, max: number): string | undefined =>
  (typeof v === 'string' && v.trim() !== '') || typeof v === 'number' ? String(v).trim().slice(0, max) : undefined;
const b = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

/** Adds the rows for `row` to `out`; returns the table name for the inbox's record. */
export function normaliseRow(row: InboxRow, out: TableRows): string {
  const route = row.route.split('?')[0];
  if (route.startsWith('/tradingview')) {
    return tradingView(row, out);
  }
  if (route === '/uw') return uw(row, out);
  if (route === '/gex') return gex(row, out);
  if (route === '/gex_history_url') return 'import_jobs';
  throw new NormaliseError(`no processor for route ${row.route}`);
}

function tradingView(row: InboxRow, out: TableRows): string {
  const parsed = parseTradingView(row.body);
  if (parsed.format === 'text') {
    const f = textAlertFields(parsed.text);
    out.alerts.push([
      row.id,
      row.source,
      row.received_at,
      'text',
      f.ticker,
      f.exchange,
      null,
      null,
      null,
      f.price,
      f.action,
      null,
      null,
      null,
      null,
      null,
      parsed.text,
      null,
    ]);
    return 'alerts';
  }
  // The stored body has no secret left in it (removed at the door), so every field is kept.
  const json = parsed.json;
  const a = tradingViewAlertSchema.parse(json);
  // Templates name the instrument `ticker` ({{ticker}}) or `symbol`, and the order `action` or `side`.
  const tickerText = a.ticker ?? textField(json.symbol, 64);
  const split = tickerText !== undefined ? splitTicker(tickerText) : null;
  const action = a.action ?? textField(json.side, 32);
  out.alerts.push([
    row.id,
    row.source,
    row.received_at,
    'json',
    split?.ticker ?? null,
    a.exchange ?? split?.exchange ?? null,
    a.interval ?? null,
    n(a.time),
    n(a.timenow),
    n(a.price) ?? n(a.close),
    action?.toLowerCase() ?? null,
    a.order_id ?? null,
    n(a.position_size),
    a.market_position ?? null,
    a.prev_market_position ?? null,
    n(a.contracts),
    a.message ?? null,
    warehouseJson(json),
  ]);
  return 'alerts';
}

function uw(row: InboxRow, out: TableRows): string {
  let value: unknown;
  try {
    value = JSON.parse(row.body);
  } catch {
    throw new NormaliseError('stored body is not JSON');
  }
  const r = resolveUw(value);
  if (!r.ok) throw new NormaliseError(`${r.message}: ${r.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = r.event;
  const d = e.data;
  const rawJson = warehouseJson(e.raw);
  switch (e.topic) {
    case 'option_trades': {
      const sym = (s(d.option_symbol) ?? s(d.option_chain_id) ?? s(d.option_chain)) as string;
      const occ = parseOccSymbol(sym);
      const tags = Array.isArray(d.tags) ? (d.tags as string[]) : [];
      const price = n(d.price);
      const bid = n(d.nbbo_bid);
      const ask = n(d.nbbo_ask);
      out.option_trades.push([
        s(d.id) ?? row.dedupe_key,
        row.id,
        row.source,
        e.ticker ?? occ?.root ?? null,
        sym,
        s(d.expiry) ?? occ?.expiry ?? null,
        n(d.strike) ?? occ?.strike ?? null,
        (s(d.option_type) ?? occ?.type ?? null)?.toLowerCase() ?? null,
        n(d.executed_at),
        price,
        n(d.size),
        n(d.premium),
        n(d.underlying_price),
        bid,
        ask,
        tradeSide(tags, price, bid, ask),
        s(d.exchange),
        n(d.open_interest),
        n(d.volume),
        n(d.implied_volatility),
        n(d.delta),
        n(d.gamma),
        n(d.theta),
        n(d.vega),
        warehouseJson(tags),
        rawJson,
      ]);
      return 'option_trades';
    }
    case 'flow-alerts':
      out.flow_alerts.push([
        s(d.id) ?? row.dedupe_key,
        row.id,
        row.source,
        e.ticker,
        s(d.option_chain),
        s(d.rule_id),
        s(d.rule_name),
        n(d.executed_at) ?? n(d.end_time),
        n(d.start_time),
        n(d.end_time),
        n(d.price),
        n(d.underlying_price),
        n(d.bid),
        n(d.ask),
        n(d.total_premium),
        n(d.total_size),
        n(d.total_ask_side_prem),
        n(d.total_bid_side_prem),
        n(d.volume),
        n(d.open_interest),
        n(d.trade_count),
        b(d.has_sweep),
        b(d.has_floor),
        b(d.has_multileg),
        rawJson,
      ]);
      return 'flow_alerts';
    case 'gex': {
      const ticker = e.ticker ?? 'UNKNOWN';
      const { ticker: _t, timestamp: _ts, price: _p, ...rest } = d;
      out.gexSnapshots.push({
        ticker,
        category: 'uw',
        tsMs: d.timestamp as number,
        source: row.source,
        spot: n(d.price),
        zeroGamma: null,
        majorPosVol: null,
        majorPosOi: null,
        majorNegVol: null,
        majorNegOi: null,
        minDte: null,
        secMinDte: null,
        sumGexVol: null,
        sumGexOi: null,
        deltaRiskReversal: null,
        maxPriors: null,
        extra: warehouseJson(numericValues(rest)),
      });
      return 'gex_snapshots';
    }
    case 'gex_strike':
    case 'gex_strike_expiry': {
      const num = (k: string) => {
        const v = d[k];
        if (typeof v === 'number') return v;
        if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
        return null;
      };
      const sum = (a: number | null, c: number | null) => (a === null && c === null ? null : (a ?? 0) + (c ?? 0));
      const { ticker: _t, timestamp: _ts, strike: _s, expiry: _e, ...rest } = d;
      out.gexStrikes.push({
        ticker: e.ticker ?? 'UNKNOWN',
        category: 'uw',
        tsMs: d.timestamp as number,
        expiry: s(d.expiry) ?? '',
        strike: d.strike as number,
        source: row.source,
        gexVol: sum(num('call_gamma_vol'), num('put_gamma_vol')),
        gexOi: sum(num('call_gamma_oi'), num('put_gamma_oi')),
        priors: null,
        extra: warehouseJson(numericValues(rest)),
      });
      return 'gex_strikes';
    }
    default: {
      const ts = toEpochMs(d.timestamp ?? d.time ?? d.created_at ?? d.executed_at ?? null);
      out.uw_events.push([row.dedupe_key, row.id, row.source, e.topic, e.channel, e.ticker, ts, row.received_at, rawJson]);
      return 'uw_events';
    }
  }
}

/** UW sends decimals as strings and "" for a missing greek: numbers and null in storage. */
function numericValues(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === '') out[k] = null;
    else if (typeof v === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.trim())) out[k] = Number(v);
    else out[k] = v;
  }
  return out;
}

function tradeSide(tags: string[], price: number | null, bid: number | null, ask: number | null): string {
  if (tags.includes('ask_side')) return 'ask';
  if (tags.includes('bid_side')) return 'bid';
  if (tags.includes('mid_side')) return 'mid';
  if (price === null || bid === null || ask === null) return 'unknown';
  if (price >= ask) return 'ask';
  if (price <= bid) return 'bid';
  return 'mid';
}

function gex(row: InboxRow, out: TableRows): string {
  let value: unknown;
  try {
    value = JSON.parse(row.body);
  } catch {
    throw new NormaliseError('stored body is not JSON');
  }
  const parsed = gexClassicSnapshotSchema.safeParse(value);
  if (!parsed.success) throw new NormaliseError(`not a classic GEX snapshot: ${parsed.error.issues[0]?.message}`);
  const bundle = classicToRows(parsed.data, { source: 'gexbot', category: gexCategory(row.route, value) });
  out.gexSnapshots.push(bundle.snapshot);
  out.gexStrikes.push(...bundle.strikes);
  return 'gex_snapshots';
}

/** `?category=zero` on the route, or a `category` field, else full. */
export function gexCategory(route: string, value: unknown): string {
  const q = route.indexOf('?');
  if (q >= 0) {
    const c = new URLSearchParams(route.slice(q + 1)).get('category');
    if (c) return c.toLowerCase().slice(0, 16);
  }
  const field = (value as { category?: unknown })?.category;
  return typeof field === 'string' && field ? field.toLowerCase().slice(0, 16) : 'full';
}
