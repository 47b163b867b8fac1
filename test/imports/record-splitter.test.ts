/** The streaming splitter finds the same records however the bytes are chunked, in every layout it accepts. */
import { describe, expect, it } from 'vitest';
import { JsonLayoutError, JsonRecordSplitter } from '../../core/imports/record-splitter';

function split(text: string, chunkSize: number): { records: unknown[]; layout: string | null; nonRecords: number } {
  const s = new JsonRecordSplitter();
  const buf = Buffer.from(text);
  const records: unknown[] = [];
  for (let i = 0; i < buf.length; i += chunkSize)
    for (const r of s.push(buf.subarray(i, i + chunkSize))) records.push(JSON.parse(r));
  s.end();
  return { records, layout: s.layout, nonRecords: s.nonRecords };
}

const recs = [
  { timestamp: 1, ticker: 'SPX', note: 'braces } ] { [ and "quotes" \\" inside', strikes: [[1, 2, 3, [4, 5]]] },
  { timestamp: 2, ticker: 'NDX', strikes: [] },
];

describe('JsonRecordSplitter', () => {
  for (const size of [1, 3, 7, 64, 1 << 20]) {
    it(`splits every layout identically in ${size}-byte chunks`, () => {
      expect(split(`\ufeff [${recs.map((r) => JSON.stringify(r)).join(',\n')}]`, size)).toEqual({
        records: recs,
        layout: 'array',
        nonRecords: 0,
      });
      expect(split(recs.map((r) => JSON.stringify(r)).join('\n'), size)).toEqual({
        records: recs,
        layout: 'lines',
        nonRecords: 0,
      });
      expect(split(JSON.stringify({ a: recs[0], b: recs[1] }), size)).toEqual({ records: recs, layout: 'object', nonRecords: 0 });
      expect(split(JSON.stringify({ snapshots: recs }), size)).toEqual({ records: recs, layout: 'object', nonRecords: 0 });
      expect(split(JSON.stringify(recs[0]), size).records).toEqual([recs[0]]);
    });
  }

  it('counts values that are not records, and rejects non-JSON and truncated input', () => {
    expect(split('[1, "two", {"timestamp": 3}, null]', 2)).toEqual({
      records: [{ timestamp: 3 }],
      layout: 'array',
      nonRecords: 3,
    });
    expect(() => split('<html>', 4)).toThrow(JsonLayoutError);
    expect(() => split('[{"a": 1}, {"b": "unterminated', 5)).toThrow(/truncated/);
    expect(() => split('', 5)).toThrow(/empty/);
  });
});

describe('JsonRecordSplitter on NDJSON with broken lines', () => {
  /** Every text the splitter yields, parsed or marked as the malformed text it was. */
  function lines(text: string, chunkSize: number): unknown[] {
    const s = new JsonRecordSplitter();
    const buf = Buffer.from(text);
    const out: unknown[] = [];
    for (let i = 0; i < buf.length; i += chunkSize)
      for (const r of s.push(buf.subarray(i, i + chunkSize))) {
        try {
          out.push(JSON.parse(r));
        } catch {
          out.push({ malformed: r });
        }
      }
    s.end();
    return out;
  }

  for (const size of [1, 5, 1 << 20]) {
    it(`keeps every good line around broken ones (${size}-byte chunks)`, () => {
      const text = [
        '{"timestamp": 1, "ticker": "SPX"}',
        '{"timestamp": 2, "ticker": "SPX", "strikes": [[1, 2',
        '{"timestamp": 3, "ticker": "SPX", "note": "unclosed',
        '{"timestamp": 4, "ticker": "SPX"}}',
        'garbage here',
        '',
        '{"timestamp": 5, "ticker": "NDX"}\r',
        '{"timestamp": 6, "ticker": "NDX"}',
      ].join('\n');
      expect(lines(text, size)).toEqual([
        { timestamp: 1, ticker: 'SPX' },
        { malformed: '{"timestamp": 2, "ticker": "SPX", "strikes": [[1, 2' },
        { malformed: '{"timestamp": 3, "ticker": "SPX", "note": "unclosed' },
        { timestamp: 4, ticker: 'SPX' },
        { malformed: '}' },
        { malformed: 'garbage here' },
        { timestamp: 5, ticker: 'NDX' },
        { timestamp: 6, ticker: 'NDX' },
      ]);
    });
  }

  it('still reads pretty-printed concatenated records across lines, and still fails a file cut mid-line', () => {
    const pretty = `${JSON.stringify({ timestamp: 1, ticker: 'SPX' }, null, 2)}\n${JSON.stringify({ timestamp: 2, ticker: 'SPX' }, null, 2)}`;
    expect(lines(pretty, 3)).toEqual([
      { timestamp: 1, ticker: 'SPX' },
      { timestamp: 2, ticker: 'SPX' },
    ]);
    expect(() => lines('{"timestamp": 1}\n{"timestamp": 2, "ticker": "SP', 4)).toThrow(/truncated/);
  });
});
