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
