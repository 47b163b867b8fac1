import { describe, expect, it } from 'vitest';
import {
  gexClassicSnapshotSchema,
  gexStrikeRowSchema,
  gexStrikeRowsSchema,
  parseGexStrikeRow,
  parseGexStrikeRows,
} from '../../core/gex';

// Values a provider might put in a strike row's slots, valid and malformed.
const SLOT_VALUES: unknown[] = [
  7135,
  -1250.5,
  0,
  -0,
  1e-300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  '7138.55',
  ' 42 ',
  '\t5\n',
  '-2.5e3',
  '0x10',
  '',
  '   ',
  'abc',
  'Infinity',
  '1,5',
  null,
  undefined,
  true,
  false,
  [],
  [1, 2],
  {},
  { v: 1 },
  10n,
];

/** Every row of length 0-4 over a slice of the slot values, plus non-rows. */
function corpus(): unknown[] {
  const rows: unknown[] = [null, undefined, 7135, '7135', {}, { 0: 1, length: 1 }, [], new Map()];
  for (const a of SLOT_VALUES) {
    rows.push([a]);
    for (const b of SLOT_VALUES) {
      rows.push([a, b]);
      rows.push([7135, a, b]);
      rows.push([a, b, 1.5, [1, 2, 3]]);
      rows.push([7135, 2, a, b, 'extra']);
    }
  }
  rows.push([7135, 1, 2, [1, 2], 'tail', { k: 1 }]);
  return rows;
}

/** The snapshot schema with its strike list left entirely to zod: the reference. */
const referenceSnapshotSchema = gexClassicSnapshotSchema.extend({ strikes: gexStrikeRowsSchema.default([]) });

describe('fast GEX strike-row validation agrees with the zod schema', () => {
  it('accepts exactly the rows the zod tuple accepts, with the same parsed values', () => {
    const rows = corpus();
    let accepted = 0;
    for (const row of rows) {
      const zod = gexStrikeRowSchema.safeParse(row);
      const fast = parseGexStrikeRow(row);
      expect(
        fast !== undefined,
        JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      ).toBe(zod.success);
      if (zod.success) {
        accepted++;
        expect(fast).toEqual(zod.data);
      }
    }
    expect(accepted).toBeGreaterThan(100);
    expect(rows.length - accepted).toBeGreaterThan(100);
  });

  it('never changes the row it was given', () => {
    const row = ['7138.55', ' 12 ', null, [1, 2]];
    const copy = structuredClone(row);
    expect(parseGexStrikeRow(row)).toEqual([7138.55, 12, null, [1, 2]]);
    expect(row).toEqual(copy);
  });

  it('validates whole strike lists like zod, and snapshots report the same issues as zod alone', () => {
    const rows = corpus();
    const lists: unknown[] = [undefined, null, 5, 'rows', {}, [], [[7135, 1, 2, [3]]]];
    // Lists mixing valid and invalid rows at different positions.
    for (let i = 0; i < rows.length; i += 7) lists.push([[7135, 1, 2], rows[i], [7140, '3', null]]);
    for (let i = 0; i < rows.length; i += 11) lists.push(rows.slice(i, i + 4));
    for (const strikes of lists) {
      const zodList = gexStrikeRowsSchema.safeParse(strikes);
      const fastList = parseGexStrikeRows(strikes);
      expect(fastList !== undefined).toBe(zodList.success);
      if (zodList.success) expect(fastList).toEqual(zodList.data);

      const record = { timestamp: 1777492800, ticker: 'spx', spot: '7138.55', strikes };
      const ours = gexClassicSnapshotSchema.safeParse(record);
      const reference = referenceSnapshotSchema.safeParse(record);
      expect(ours.success).toBe(reference.success);
      if (ours.success && reference.success) expect(ours.data).toEqual(reference.data);
      else
        expect(ours.error?.issues.map((i) => [i.path, i.code, i.message])).toEqual(
          reference.error?.issues.map((i) => [i.path, i.code, i.message]),
        );
    }
  });

  // Its speed is measured in the GEX history import bench (npm run bench -- imports), not asserted here.
  it('takes a history-sized list as it is, without copying it, where the zod tuple accepts it too', () => {
    const strikes = Array.from({ length: 200_000 }, (_, k) => [6500 + k * 5, k * 1.37, k * 0.61, [k, k + 1.5, 0]]);
    expect(parseGexStrikeRows(strikes)).toBe(strikes);
    expect(gexStrikeRowsSchema.safeParse(strikes).success).toBe(true);
  });
});
