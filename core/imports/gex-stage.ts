/**
 * Validate and stage a GEX history file. The staged bytes are split into records without parsing
 * the whole file, each record is JSON.parse'd and checked against the shared gexbot classic schema
 * (`core/gex`), and the valid ones are written as compact column-wise JSON lines in parts that
 * DuckDB loads (with `read_json`, on its own threads, while JS validates the next part) into the
 * job's rows of the `import_staged_gex_*` tables. Nothing here touches the clean tables.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { classicToRows, gexClassicSnapshotSchema } from '../gex';
import { AppError, errorMessage, yieldToLoop } from '../platform';
import { sqlString, type Warehouse, type WarehouseMigration } from '../storage';
import { type DecodedEntry, openDecodedEntries } from './decode';
import type { InvalidExample } from './jobs';
import { type JsonLayout, JsonLayoutError, JsonRecordSplitter } from './record-splitter';

export const stagingWarehouseMigrations: WarehouseMigration[] = [
  {
    id: 'imports/0001_staging_tables',
    up: `
      CREATE TABLE import_staged_gex_snapshots (
        job_id VARCHAR NOT NULL, seq BIGINT NOT NULL,
        ticker VARCHAR NOT NULL, category VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, source VARCHAR NOT NULL,
        spot DOUBLE, zero_gamma DOUBLE, major_pos_vol DOUBLE, major_pos_oi DOUBLE, major_neg_vol DOUBLE,
        major_neg_oi DOUBLE, min_dte DOUBLE, sec_min_dte DOUBLE, sum_gex_vol DOUBLE, sum_gex_oi DOUBLE,
        delta_risk_reversal DOUBLE, max_priors JSON, extra JSON
      );
      -- Strike rows carry only their snapshot's seq: ticker, ts, category and source come from the
      -- staged snapshot at merge time (less to write per row while staging).
      CREATE TABLE import_staged_gex_strikes (
        job_id VARCHAR NOT NULL, seq BIGINT NOT NULL, strike DOUBLE NOT NULL, gex_vol DOUBLE, gex_oi DOUBLE, priors JSON
      );
      CREATE TABLE import_merges (
        job_id VARCHAR PRIMARY KEY, snapshots_staged BIGINT NOT NULL, snapshots_inserted BIGINT NOT NULL,
        strikes_staged BIGINT NOT NULL, strikes_inserted BIGINT NOT NULL, merged_at TIMESTAMP NOT NULL
      );
    `,
  },
];

export interface StageOptions {
  jobId: string;
  category: string;
  source: string;
  stagedPath: string;
  partsDir: string;
  maxBadRatio: number;
  signal?: AbortSignal;
  onProgress?: (records: number, valid: number, invalid: number) => void;
}

export interface StageResult {
  /** The documents' layout; `mixed` when the entries of a zip differ. */
  layout: string;
  encoding: string;
  /** The zip entries read, in order (none for a plain, gzip or zstd file). */
  entries: string[];
  records: number;
  valid: number;
  invalid: number;
  nonRecords: number;
  strikes: number;
  /** Snapshots repeating an earlier (ticker, timestamp) of the same file or archive: the first one is kept. */
  duplicatesInFile: number;
  invalidExamples: InvalidExample[];
}

const PART_STRIKES = 150_000;
const MAX_EXAMPLES = 5;

const SNAPSHOT_COLUMNS = `{seq:'BIGINT', ticker:'VARCHAR', ts:'BIGINT', spot:'DOUBLE', zero_gamma:'DOUBLE', major_pos_vol:'DOUBLE',
  major_pos_oi:'DOUBLE', major_neg_vol:'DOUBLE', major_neg_oi:'DOUBLE', min_dte:'DOUBLE', sec_min_dte:'DOUBLE',
  sum_gex_vol:'DOUBLE', sum_gex_oi:'DOUBLE', delta_risk_reversal:'DOUBLE', max_priors:'VARCHAR', extra:'VARCHAR'}`;
const STRIKE_COLUMNS = `{seq:'BIGINT', k:'DOUBLE[]', v:'DOUBLE[]', o:'DOUBLE[]', p:'JSON[]'}`;

/** Removes whatever an earlier (crashed or failed) attempt staged for this job. */
export async function clearStaged(warehouse: Warehouse, jobId: string, partsDir?: string): Promise<void> {
  await warehouse.transaction(async (conn) => {
    await conn.run('DELETE FROM import_staged_gex_snapshots WHERE job_id = $1', [jobId]);
    await conn.run('DELETE FROM import_staged_gex_strikes WHERE job_id = $1', [jobId]);
  });
  if (partsDir) await rm(partsDir, { recursive: true, force: true });
}

export async function validateAndStage(warehouse: Warehouse, options: StageOptions): Promise<StageResult> {
  await clearStaged(warehouse, options.jobId, options.partsDir);
  try {
    await mkdir(options.partsDir, { recursive: true });
  } catch (err) {
    throw new AppError('IMPORT_DISK', `Cannot create the staging folder ${options.partsDir}: ${errorMessage(err)}`, {
      status: 507,
    });
  }
  const { encoding, entries } = await openDecodedEntries(options.stagedPath);
  const examples: InvalidExample[] = [];
  const layouts = new Set<JsonLayout>();
  let nonRecords = 0;
  let current: DecodedEntry | undefined;
  let records = 0;
  let valid = 0;
  let invalid = 0;
  let strikes = 0;
  let duplicatesInFile = 0;
  const seen = new Set<string>();
  let lines: string[] = [];
  let strikeLines: string[] = [];
  let partStrikes = 0;
  let partNo = 0;
  let loading: Promise<void> = Promise.resolve();
  // While DuckDB loads a part, let its completions in between a few records: each step of the load
  // (connect, BEGIN, INSERTs, COMMIT) otherwise waits for a whole 1 MiB chunk of validation.
  let loadInFlight = false;
  let sinceYield = 0;

  const flush = async () => {
    if (lines.length === 0) return;
    const base = join(options.partsDir, `part-${String(partNo++).padStart(5, '0')}`);
    const snapText = lines.join('\n');
    const strikeText = strikeLines.join('\n');
    lines = [];
    strikeLines = [];
    partStrikes = 0;
    await loading; // at most one part loading while the next is validated
    await writeFile(`${base}.snapshots.jsonl`, snapText);
    await writeFile(`${base}.strikes.jsonl`, strikeText);
    loadInFlight = true;
    loading = loadPart(warehouse, base, options).finally(() => {
      loadInFlight = false;
    });
    loading.catch(() => undefined);
  };

  const example = (index: number, message: string, text: string) => {
    if (examples.length >= MAX_EXAMPLES) return;
    const entry = current?.name;
    examples.push({ index, message, excerpt: excerpt(text), ...(entry === undefined ? {} : { entry }) });
  };

  // Each entry is its own JSON document, so its own splitter; counters, dedupe and parts span the archive.
  const stageEntry = async (splitter: JsonRecordSplitter, source: Readable) => {
    for await (const chunk of source) {
      if (options.signal?.aborted) throw cancelled();
      for (const text of splitter.push(chunk as Buffer)) {
        if (loadInFlight && ++sinceYield >= 4) {
          sinceYield = 0;
          await yieldToLoop();
        }
        const index = records++;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          invalid++;
          example(index, `malformed JSON: ${errorMessage(err)}`, text);
          continue;
        }
        const result = checkRecord(parsed);
        if (result === TOO_DEEP) {
          invalid++;
          example(index, 'the record nests too deeply to be read', text);
          continue;
        }
        if (!result.success) {
          invalid++;
          if (examples.length < MAX_EXAMPLES) {
            const message = result.error.issues
              .slice(0, 3)
              .map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`)
              .join('; ');
            example(index, message, text);
          }
          continue;
        }
        valid++;
        const snap = result.data;
        // Dedupe inside the file (across an archive's entries) here, first occurrence wins, so the merge needs no sort.
        const key = `${snap.ticker}|${Math.round(snap.timestamp * 1000)}`;
        if (seen.has(key)) {
          duplicatesInFile++;
          continue;
        }
        seen.add(key);
        const rows = uniqueStrikes(snap.strikes);
        let staged: [string, string];
        try {
          staged = toStagingLines(index, { ...snap, strikes: [] }, rows, options);
        } catch (err) {
          if (!(err instanceof RangeError)) throw err;
          // An extra field nested deeper than JSON.stringify can recurse: that record, not the file, is invalid.
          valid--;
          invalid++;
          example(index, 'the record nests too deeply to be stored', text);
          continue;
        }
        const [snapLine, strikeLine] = staged;
        strikes += rows.length;
        partStrikes += rows.length;
        lines.push(snapLine);
        strikeLines.push(strikeLine);
        if (partStrikes >= PART_STRIKES) await flush();
      }
      options.onProgress?.(records, valid, invalid);
    }
    splitter.end();
  };

  let stream: Readable | undefined;
  try {
    for (const entry of entries) {
      if (options.signal?.aborted) throw cancelled();
      current = entry;
      const splitter = new JsonRecordSplitter();
      stream = entry.open();
      await stageEntry(splitter, stream);
      stream.destroy();
      nonRecords += splitter.nonRecords;
      if (splitter.layout) layouts.add(splitter.layout);
    }
    await flush();
    await loading;
  } catch (err) {
    await loading.catch(() => undefined);
    const where = current?.name === undefined ? '' : ` (zip entry ${current.name})`;
    if (err instanceof JsonLayoutError) {
      throw new AppError(
        err.code === 'TRUNCATED' ? 'IMPORT_TRUNCATED' : 'IMPORT_NOT_JSON',
        `The file is ${err.message}${where}`,
        { details: { records, valid, invalid } },
      );
    }
    if (err instanceof AppError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || /zstd|incorrect header|unexpected end/i.test(errorMessage(err))) {
      throw new AppError('IMPORT_BAD_ARCHIVE', `The compressed file is corrupt or truncated${where}: ${errorMessage(err)}`);
    }
    if (code === 'ENOSPC' || code === 'EACCES' || code === 'EROFS' || code === 'EPERM') {
      throw new AppError('IMPORT_DISK', `Cannot write staging data (${code}): ${errorMessage(err)}`, { status: 507 });
    }
    throw err;
  } finally {
    stream?.destroy();
  }

  invalid += nonRecords;
  const total = valid + invalid;
  options.onProgress?.(records + nonRecords, valid, invalid);
  const result: StageResult = {
    layout: layouts.size > 1 ? 'mixed' : ([...layouts][0] ?? 'unknown'),
    encoding,
    entries: entries.flatMap((e) => (e.name === undefined ? [] : [e.name])),
    records: total,
    valid,
    invalid,
    nonRecords,
    strikes,
    duplicatesInFile,
    invalidExamples: examples,
  };
  if (valid === 0) {
    throw new AppError('IMPORT_NO_RECORDS', `The file holds no valid GEX snapshot (${invalid} invalid of ${total})`, {
      details: result,
    });
  }
  const ratio = invalid / total;
  if (ratio > options.maxBadRatio) {
    throw new AppError(
      'IMPORT_TOO_MANY_INVALID',
      `${invalid} of ${total} records (${(ratio * 100).toFixed(1)}%) are invalid, above the limit of ${(options.maxBadRatio * 100).toFixed(1)}% (IMPORT_MAX_BAD_RATIO); first: ${examples[0]?.message ?? 'not an object'}`,
      { details: result },
    );
  }
  return result;
}

type StrikeRows = Parameters<typeof classicToRows>[0]['strikes'];

/** Keeps the first row of each strike; most files are strictly increasing and skip the Set. */
function uniqueStrikes(rows: StrikeRows): StrikeRows {
  let increasing = true;
  for (let i = 1; i < rows.length; i++) {
    if (((rows[i] as unknown[])[0] as number) <= ((rows[i - 1] as unknown[])[0] as number)) {
      increasing = false;
      break;
    }
  }
  if (increasing) return rows;
  const seen = new Set<number>();
  return rows.filter((r) => {
    const k = (r as unknown[])[0] as number;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function toStagingLines(
  seq: number,
  snap: Parameters<typeof classicToRows>[0],
  strikeRows: StrikeRows,
  options: StageOptions,
): [string, string] {
  // The snapshot mapping is core/gex's own (so webhook and import rows look alike); strike rows
  // are written column-wise so DuckDB unnests them instead of JS building a million objects.
  const { snapshot } = classicToRows(snap, { source: options.source, category: options.category });
  const n = strikeRows.length;
  const k = new Array<number>(n);
  const v = new Array<number | null>(n);
  const o = new Array<number | null>(n);
  const p = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const row = strikeRows[i] as unknown[];
    k[i] = row[0] as number;
    v[i] = (row[1] as number | null | undefined) ?? null;
    o[i] = (row[2] as number | null | undefined) ?? null;
    // Priors go through as JSON, exactly as core/gex's classicToRows stores them.
    p[i] = row.length > 3 && Array.isArray(row[3]) ? row[3] : null;
  }
  const head = { seq, ticker: snapshot.ticker, ts: snapshot.tsMs };
  const snapLine = JSON.stringify({
    ...head,
    spot: snapshot.spot,
    zero_gamma: snapshot.zeroGamma,
    major_pos_vol: snapshot.majorPosVol,
    major_pos_oi: snapshot.majorPosOi,
    major_neg_vol: snapshot.majorNegVol,
    major_neg_oi: snapshot.majorNegOi,
    min_dte: snapshot.minDte,
    sec_min_dte: snapshot.secMinDte,
    sum_gex_vol: snapshot.sumGexVol,
    sum_gex_oi: snapshot.sumGexOi,
    delta_risk_reversal: snapshot.deltaRiskReversal,
    max_priors: snapshot.maxPriors,
    extra: snapshot.extra,
  });
  return [snapLine, JSON.stringify({ seq, k, v, o, p })];
}

async function loadPart(warehouse: Warehouse, base: string, options: StageOptions): Promise<void> {
  const read = (suffix: string, columns: string) =>
    `read_json(${sqlString(`${base}.${suffix}.jsonl`)}, format='newline_delimited', columns=${columns})`;
  const params = { job: options.jobId, category: options.category, source: options.source };
  try {
    await warehouse.transaction(async (conn) => {
      await conn.run(
        `INSERT INTO import_staged_gex_snapshots
         SELECT $job, seq, ticker, $category, make_timestamp(ts * 1000), $source, spot, zero_gamma, major_pos_vol,
                major_pos_oi, major_neg_vol, major_neg_oi, min_dte, sec_min_dte, sum_gex_vol, sum_gex_oi,
                delta_risk_reversal, max_priors::JSON, extra::JSON
         FROM ${read('snapshots', SNAPSHOT_COLUMNS)}`,
        params,
      );
      await conn.run(
        `INSERT INTO import_staged_gex_strikes
         SELECT $job, seq, unnest(k), unnest(v), unnest(o), unnest(p) FROM ${read('strikes', STRIKE_COLUMNS)}`,
        { job: options.jobId },
      );
    });
  } finally {
    await rm(`${base}.snapshots.jsonl`, { force: true });
    await rm(`${base}.strikes.jsonl`, { force: true });
  }
}

function excerpt(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function cancelled(): AppError {
  return new AppError('IMPORT_CANCELLED', 'The import was cancelled');
}

const TOO_DEEP = Symbol('too deep');

/** The schema's verdict, or TOO_DEEP for a record nested past what the checks can recurse into. */
function checkRecord(value: unknown): ReturnType<typeof gexClassicSnapshotSchema.safeParse> | typeof TOO_DEEP {
  try {
    return gexClassicSnapshotSchema.safeParse(value);
  } catch (err) {
    if (err instanceof RangeError) return TOO_DEEP;
    throw err;
  }
}
