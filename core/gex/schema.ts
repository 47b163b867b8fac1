/**
 * gexbot's "classic" GEX snapshot, the one shape shared by the `/gex` webhook and the history
 * import. `timestamp` is epoch SECONDS; strike rows are `[strike, gex_by_volume, gex_by_oi, priors[]]`.
 * Unknown fields are kept (passthrough) so a provider addition is stored, not rejected.
 * Browser-safe: no Node imports.
 */
import { z } from 'zod';
import { warehouseJson } from '../storage/json';

const finite = (what: string) => z.number({ error: `expected a number (${what})` }).finite();
/** Numbers that a provider may send as strings ("7138.55"). */
const num = (what: string) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v), finite(what));
const optNum = (what: string) => num(what).nullish();

export const gexStrikeRowSchema = z
  .tuple([num('strike'), optNum('gex by volume'), optNum('gex by open interest')], z.unknown())
  .describe('[strike, gex_by_volume, gex_by_oi, [prior gex_by_volume values]]');

export type GexStrikeRowValue = z.output<typeof gexStrikeRowSchema>;

/** The strike list exactly as zod defines it: the reference the fast path below is tested against. */
export const gexStrikeRowsSchema = z.array(gexStrikeRowSchema, {
  error: 'expected [[strike, gex_vol, gex_oi, [priors]], …]',
});

/** A prior sent as a numeric string ("-228.01") is stored as the number, like every other GEX value. */
function numericOrSelf(v: unknown): unknown {
  return fastNum(v) ?? v;
}

/** `num()` above without zod: the coerced number, or undefined where zod reports an issue. */
function fastNum(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  return undefined;
}

/**
 * `gexStrikeRowSchema.safeParse(row)` without zod's per-tuple machinery (zod 4 compiles objects, not
 * tuples, and a history file holds millions of rows): the parsed row, or undefined exactly where the
 * zod schema rejects it (test/gex/strike-row-fast.test.ts proves both on a corpus). A row needing no
 * coercion is returned as is; one with numeric strings is copied with them converted.
 */
export function parseGexStrikeRow(row: unknown): GexStrikeRowValue | undefined {
  if (!Array.isArray(row) || row.length === 0) return undefined;
  let out: unknown[] | undefined;
  const head = Math.min(row.length, 3);
  for (let i = 0; i < head; i++) {
    const v = row[i];
    if (typeof v === 'number' && Number.isFinite(v)) continue;
    if (i > 0 && (v === null || v === undefined)) continue;
    const n = fastNum(v);
    if (n === undefined) return undefined;
    out ??= row.slice();
    out[i] = n;
  }
  return (out ?? row) as GexStrikeRowValue;
}

/**
 * `gexStrikeRowsSchema.safeParse(rows)` with the fast row check: the parsed list, or undefined when
 * any row is invalid (then the caller runs the zod schema for its exact issues).
 */
export function parseGexStrikeRows(rows: unknown): GexStrikeRowValue[] | undefined {
  if (!Array.isArray(rows)) return undefined;
  let out: GexStrikeRowValue[] | undefined;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const parsed = parseGexStrikeRow(row);
    if (parsed === undefined) return undefined;
    if (parsed !== row) {
      out ??= rows.slice();
      out[i] = parsed;
    }
  }
  return out ?? (rows as GexStrikeRowValue[]);
}

/**
 * The snapshot's `strikes`: valid lists take the fast path; anything else goes through
 * `gexStrikeRowsSchema` so the issues (paths, messages) are zod's own.
 */
const strikesField = z.unknown().transform((value, ctx): GexStrikeRowValue[] => {
  const fast = parseGexStrikeRows(value);
  if (fast !== undefined) return fast;
  const slow = gexStrikeRowsSchema.safeParse(value);
  if (slow.success) return slow.data;
  for (const issue of slow.error.issues) ctx.issues.push({ ...issue, input: value } as (typeof ctx.issues)[number]);
  return z.NEVER;
});

export const gexClassicSnapshotSchema = z
  .object({
    timestamp: num('epoch seconds').refine((v) => v > 0 && v < 1e11, {
      message: 'expected epoch seconds (e.g. 1777492800), not milliseconds',
    }),
    ticker: z
      .string({ error: 'expected a ticker string such as SPX' })
      .trim()
      .min(1, 'expected a ticker such as SPX')
      .max(16)
      // A NUL or newline in a ticker ends up in file names and SQL text (the Parquet export's partitions).
      .regex(/^[^\p{Cc}\s]+$/u, 'expected a ticker without spaces or control characters, such as SPX')
      .transform((s) => s.toUpperCase()),
    spot: optNum('spot price'),
    zero_gamma: optNum('zero gamma level'),
    major_pos_vol: optNum('strike'),
    major_pos_oi: optNum('strike'),
    major_neg_vol: optNum('strike'),
    major_neg_oi: optNum('strike'),
    min_dte: optNum('days'),
    sec_min_dte: optNum('days'),
    sum_gex_vol: optNum('sum'),
    sum_gex_oi: optNum('sum'),
    delta_risk_reversal: optNum('ratio'),
    strikes: strikesField.default([]),
    max_priors: z.array(z.unknown()).nullish(),
  })
  .loose();

export type GexClassicSnapshot = z.output<typeof gexClassicSnapshotSchema>;

/** Fields the warehouse has columns for; everything else goes to `extra` (JSON). */
export const GEX_SNAPSHOT_KNOWN_FIELDS = new Set([
  'timestamp',
  'ticker',
  'spot',
  'zero_gamma',
  'major_pos_vol',
  'major_pos_oi',
  'major_neg_vol',
  'major_neg_oi',
  'min_dte',
  'sec_min_dte',
  'sum_gex_vol',
  'sum_gex_oi',
  'delta_risk_reversal',
  'strikes',
  'max_priors',
]);

/** One snapshot row as the warehouse stores it (`gex_snapshots`). */
export interface GexSnapshotRow {
  ticker: string;
  /** full | zero | one (gexbot's aggregation), or `uw` for Unusual Whales' market GEX. */
  category: string;
  /** Epoch milliseconds. */
  tsMs: number;
  source: string;
  spot: number | null;
  zeroGamma: number | null;
  majorPosVol: number | null;
  majorPosOi: number | null;
  majorNegVol: number | null;
  majorNegOi: number | null;
  minDte: number | null;
  secMinDte: number | null;
  sumGexVol: number | null;
  sumGexOi: number | null;
  deltaRiskReversal: number | null;
  /** JSON text or null. */
  maxPriors: string | null;
  /** JSON text of the unknown fields, or null. */
  extra: string | null;
}

/** One strike row (`gex_strikes`). */
export interface GexStrikeRow {
  ticker: string;
  category: string;
  tsMs: number;
  /** '' when the row is not per expiry (gexbot classic, UW gex_strike). */
  expiry: string;
  strike: number;
  source: string;
  gexVol: number | null;
  gexOi: number | null;
  /** JSON array text of prior gex_by_volume values, or null. */
  priors: string | null;
  /** JSON text of other per-strike values (UW greeks), or null. */
  extra: string | null;
}

export interface GexSnapshotBundle {
  snapshot: GexSnapshotRow;
  strikes: GexStrikeRow[];
}

/** Turns a parsed classic snapshot into warehouse rows. */
export function classicToRows(
  snap: GexClassicSnapshot,
  options: { source: string; category?: string } = { source: 'gexbot' },
): GexSnapshotBundle {
  const category = (options.category ?? 'full').toLowerCase();
  const tsMs = Math.round(snap.timestamp * 1000);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(snap)) if (!GEX_SNAPSHOT_KNOWN_FIELDS.has(k)) extra[k] = v;
  const snapshot: GexSnapshotRow = {
    ticker: snap.ticker,
    category,
    tsMs,
    source: options.source,
    spot: snap.spot ?? null,
    zeroGamma: snap.zero_gamma ?? null,
    majorPosVol: snap.major_pos_vol ?? null,
    majorPosOi: snap.major_pos_oi ?? null,
    majorNegVol: snap.major_neg_vol ?? null,
    majorNegOi: snap.major_neg_oi ?? null,
    minDte: snap.min_dte ?? null,
    secMinDte: snap.sec_min_dte ?? null,
    sumGexVol: snap.sum_gex_vol ?? null,
    sumGexOi: snap.sum_gex_oi ?? null,
    deltaRiskReversal: snap.delta_risk_reversal ?? null,
    maxPriors: snap.max_priors
      ? warehouseJson(snap.max_priors.map((p) => (Array.isArray(p) ? p.map(numericOrSelf) : numericOrSelf(p))))
      : null,
    extra: Object.keys(extra).length > 0 ? warehouseJson(extra) : null,
  };
  const strikes: GexStrikeRow[] = snap.strikes.map((row) => {
    const rest = row.slice(3);
    const priors = rest.length > 0 && Array.isArray(rest[0]) ? warehouseJson(rest[0].map(numericOrSelf)) : null;
    return {
      ticker: snap.ticker,
      category,
      tsMs,
      expiry: '',
      strike: row[0],
      source: options.source,
      gexVol: row[1] ?? null,
      gexOi: row[2] ?? null,
      priors,
      extra: null,
    };
  });
  return { snapshot, strikes };
}
