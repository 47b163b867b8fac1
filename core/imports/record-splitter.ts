/**
 * Splits a stream of JSON bytes into one text per record without parsing the whole file, so a
 * multi-gigabyte history never becomes one JS object. Understands three layouts:
 *   - a JSON array of records            `[{…},{…}]`
 *   - JSON lines / concatenated records   `{…}\n{…}`
 *   - an object of records               `{"a":{…},"b":{…}}` or `{"data":[{…},{…}]}`
 * A top-level object is a container when its first value is an object (or an array of objects);
 * otherwise it is itself a record. Structural errors (not JSON, truncated) throw `JsonLayoutError`;
 * a record that is well delimited but malformed inside is yielded anyway and fails JSON.parse later.
 *
 * JSON lines whose first record fits on one line are read as NDJSON: a line break ends the record being
 * read, so one broken line (a missing brace, an unclosed string, a stray `}` or a bare word) is yielded as
 * its own malformed text — one invalid record — instead of swallowing the lines after it and failing the
 * whole file as truncated. Concatenated records that span lines (pretty-printed) keep the depth-only reading.
 */

export type JsonLayout = 'array' | 'lines' | 'object';

export class JsonLayoutError extends Error {
  readonly code: 'NOT_JSON' | 'TRUNCATED';
  constructor(code: 'NOT_JSON' | 'TRUNCATED', message: string) {
    super(message);
    this.code = code;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const NEWLINE = 0x0a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

type Pending = 'none' | 'first-value' | 'first-element';

export class JsonRecordSplitter {
  layout: JsonLayout | null = null;
  /** Bytes consumed so far. */
  offset = 0;
  /** Primitive values found where records were expected. */
  nonRecords = 0;
  private depth = 0;
  /** Container kinds by depth (index = depth - 1). */
  private readonly kinds: number[] = [];
  private inString = false;
  private escape = false;
  private started = false;
  /** Depth at which the record currently being captured was opened, or -1. */
  private recordDepth = -1;
  private parts: Buffer[] = [];
  /** For an undecided top-level object: what we are waiting for to decide. */
  private pending: Pending = 'none';
  private afterColon = false;
  private inPrimitive = false;
  /** JSON lines: 'strict' once the first record fitted on one line (NDJSON), 'free' if it spanned lines. */
  private lineMode: 'unknown' | 'strict' | 'free' = 'unknown';
  /** NDJSON: capturing a line that is not a record (a stray bracket, a bare word) up to its line break. */
  private inJunk = false;

  /** Feeds one chunk; returns the records completed inside it (as UTF-8 text). */
  push(chunk: Buffer): string[] {
    const out: string[] = [];
    let start = this.recordDepth >= 0 ? 0 : -1;
    const n = chunk.length;
    let i = 0;
    if (!this.started) {
      // Skip a UTF-8 BOM (possibly split across chunks) and leading space.
      const BOM = [0xef, 0xbb, 0xbf];
      while (i < n && (isSpace(chunk[i] as number) || (this.offset + i < 3 && chunk[i] === BOM[this.offset + i]))) i++;
      if (i === n) {
        this.offset += n;
        return out;
      }
      const c = chunk[i] as number;
      if (c !== OPEN_ARR && c !== OPEN_OBJ) {
        throw new JsonLayoutError(
          'NOT_JSON',
          `not JSON: the file starts with ${JSON.stringify(chunk.subarray(i, i + 24).toString('utf8'))} at byte ${this.offset + i}, expected "[" or "{"`,
        );
      }
      this.started = true;
    }
    for (; i < n; i++) {
      // Inside a record only the nesting depth and strings matter: skip to its closing bracket.
      if (this.recordDepth >= 0 && this.pending === 'none') {
        i = this.scanInsideRecord(chunk, i, n);
        if (i === n) break;
      }
      const c = chunk[i] as number;
      if (this.lineMode === 'strict') {
        if (c === NEWLINE && (this.recordDepth >= 0 || this.inJunk)) {
          // NDJSON: the line ended inside a record (or junk): one malformed record; the next line starts afresh.
          const text = this.capture(chunk, start, i).trim();
          if (text !== '') out.push(text);
          this.resetLine();
          start = -1;
          continue;
        }
        if (this.inJunk) continue;
        if (this.depth === 0 && !isSpace(c) && c !== OPEN_OBJ && c !== OPEN_ARR) {
          this.inJunk = true;
          start = i;
          continue;
        }
      }
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.pending !== 'none' && (this.afterColon || this.pending === 'first-element')) this.decideTopObjectIsRecord();
        this.primitiveAtRecordLevel();
        continue;
      }
      if (c === OPEN_OBJ || c === OPEN_ARR) {
        const depth = this.depth;
        if (depth === 0) {
          if (this.layout === null) {
            if (c === OPEN_ARR) this.layout = 'array';
            else this.pending = 'first-value';
          } else if (this.layout === 'array' || this.layout === 'object') {
            // A second top-level value after a closed array/container: treat the rest as JSON lines.
            this.layout = 'lines';
          }
          if (c === OPEN_OBJ && (this.layout === 'lines' || this.pending !== 'none')) {
            this.recordDepth = 0;
            start = i;
          } else if (c === OPEN_ARR && this.layout === 'lines') {
            this.recordDepth = 0;
            start = i;
          }
        } else if (this.recordDepth < 0 || this.pending !== 'none') {
          if (this.pending === 'first-value' && depth === 1 && this.afterColon) {
            if (c === OPEN_OBJ) {
              this.decideContainer();
              this.recordDepth = 1;
              start = i;
            } else {
              this.pending = 'first-element';
            }
          } else if (this.pending === 'first-element' && depth === 2) {
            if (c === OPEN_OBJ) {
              this.decideContainer();
              this.recordDepth = 2;
              start = i;
            } else {
              this.decideTopObjectIsRecord();
            }
          } else if (this.isRecordLevel(depth)) {
            this.recordDepth = depth;
            start = i;
          }
        }
        this.kinds[depth] = c;
        this.depth = depth + 1;
        this.afterColon = false;
        this.inPrimitive = false;
        continue;
      }
      if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        if (this.pending === 'first-element' && this.depth === 2) this.decideTopObjectIsRecord();
        if (this.depth === 0)
          throw new JsonLayoutError('NOT_JSON', `not JSON: unbalanced "${String.fromCharCode(c)}" at byte ${this.offset + i}`);
        this.depth--;
        this.inPrimitive = false;
        this.afterColon = false;
        if (this.depth === this.recordDepth) {
          const text = this.capture(chunk, start, i + 1);
          if (this.layout === 'lines' && this.lineMode === 'unknown') this.lineMode = text.includes('\n') ? 'free' : 'strict';
          out.push(text);
          this.recordDepth = -1;
          start = -1;
        }
        continue;
      }
      if (c === COLON) {
        this.afterColon = true;
        continue;
      }
      if (c === COMMA) {
        this.afterColon = false;
        this.inPrimitive = false;
        continue;
      }
      if (isSpace(c)) continue;
      // A number, true, false or null.
      if (this.pending !== 'none' && (this.afterColon || this.pending === 'first-element')) this.decideTopObjectIsRecord();
      this.primitiveAtRecordLevel();
    }
    if (this.recordDepth >= 0 || this.inJunk) this.parts.push(Buffer.from(chunk.subarray(Math.max(start, 0))));
    this.offset += n;
    return out;
  }

  /** The captured text from `start` (or the chunk's beginning) to `end`, joined to earlier chunks' parts. */
  private capture(chunk: Buffer, start: number, end: number): string {
    const tail = chunk.subarray(Math.max(start, 0), end);
    if (this.parts.length === 0) return tail.toString('utf8');
    this.parts.push(tail);
    const text = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    return text;
  }

  private resetLine(): void {
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.recordDepth = -1;
    this.inJunk = false;
    this.parts = [];
    this.afterColon = false;
    this.inPrimitive = false;
  }

  /** Call at end of input: throws if the file stopped inside a value. */
  end(): void {
    if (!this.started) throw new JsonLayoutError('NOT_JSON', 'not JSON: the file is empty');
    if (this.depth !== 0 || this.inString || this.inJunk) {
      throw new JsonLayoutError(
        'TRUNCATED',
        `truncated: the file ends inside ${this.inString ? 'a string' : 'an unfinished value'} at byte ${this.offset} (depth ${this.depth})`,
      );
    }
  }

  /**
   * The hot loop: from `i`, tracks only depth and strings until the bracket that closes the record
   * being captured, and returns its index (left for the caller to handle) or `n`. The other state
   * (container kinds, colons, primitives) matters only outside records.
   */
  private scanInsideRecord(chunk: Buffer, i: number, n: number): number {
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escape;
    const closing = this.recordDepth + 1;
    const lineEnds = this.lineMode === 'strict';
    for (; i < n; i++) {
      const c = chunk[i] as number;
      if (lineEnds && c === NEWLINE) break;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) inString = false;
      } else if (c === QUOTE) inString = true;
      else if (c === OPEN_OBJ || c === OPEN_ARR) depth++;
      else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        if (depth === closing) break;
        depth--;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escape = escaped;
    return i;
  }

  private isRecordLevel(depth: number): boolean {
    if (this.layout === 'array') return depth === 1;
    if (this.layout === 'object') return depth === 1 || (depth === 2 && this.kinds[1] === OPEN_ARR);
    return depth === 0;
  }

  private primitiveAtRecordLevel(): void {
    if (this.inPrimitive || this.recordDepth >= 0 || this.pending !== 'none') return;
    // Only array elements count; in an object of records, keys and scalar metadata are not records.
    if (this.layout === 'array' && this.depth === 1) {
      this.nonRecords++;
      this.inPrimitive = true;
    } else if (this.layout === 'object' && this.depth === 2 && this.kinds[1] === OPEN_ARR) {
      this.nonRecords++;
      this.inPrimitive = true;
    }
  }

  private decideContainer(): void {
    this.layout = 'object';
    this.pending = 'none';
    // The top-level object itself is not a record: drop what was captured from its "{".
    this.recordDepth = -1;
    this.parts = [];
  }

  private decideTopObjectIsRecord(): void {
    this.layout = 'lines';
    this.pending = 'none';
  }
}

/** Yields batches of record texts from a byte stream. */
export async function* splitJsonRecords(
  source: AsyncIterable<Buffer>,
  splitter = new JsonRecordSplitter(),
): AsyncGenerator<string[]> {
  for await (const chunk of source) {
    const records = splitter.push(chunk);
    if (records.length > 0) yield records;
  }
  splitter.end();
}
