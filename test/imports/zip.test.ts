/**
 * Zip archives of GEX history, imported the way a trader does: a week of files (one JSON document
 * per ticker and day) zipped together and queued on a real workstation (temp DuckDB + SQLite).
 * Every file entry is read; folders and macOS metadata are skipped; an entry that cannot be read
 * refuses the whole archive, naming the entry, with the clean tables unchanged.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importJobSchema } from '../../core/api/imports';
import { listBackups } from '../../core/imports';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { snapshots, TEST_ENV, tableChecksums, type ZipEntrySpec, zipArchive } from './support';

const day = (d: number) => Date.UTC(2026, 0, d, 14, 31) / 1000;
const json = (v: unknown) => JSON.stringify(v);
const ndjson = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');

let t: TestWorkstation | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

async function importZip(entries: ZipEntrySpec[], env: Record<string, string> = {}) {
  t = await openTestWorkstation({ ...TEST_ENV, ...env });
  const file = join(t.dataDir, 'week.zip');
  await writeFile(file, zipArchive(entries));
  const before = await tableChecksums(t.ws.stores.warehouse);
  const queue = t.ws.imports.queue;
  const job = await queue.waitFor(queue.enqueue({ path: file, source: 'test' }).job.id);
  return { job, before };
}

async function expectRefused(entries: ZipEntrySpec[], code: string) {
  const { job, before } = await importZip(entries);
  const w = (t as TestWorkstation).ws.stores.warehouse;
  expect([job.state, job.errorCode]).toEqual(['failed', code]);
  expect(await tableChecksums(w)).toEqual(before);
  const [staged] = await w.rows<{ n: number }>('SELECT count(*)::INTEGER AS n FROM import_staged_gex_snapshots');
  expect(staged?.n).toBe(0);
  expect(job.backupId).toMatch(/^bk_/);
  expect((await listBackups((t as TestWorkstation).dataDir)).length).toBeGreaterThan(0);
  return job;
}

describe('a trader imports a zip of GEX history files', () => {
  it('imports every file of the archive, skips folders and macOS metadata, keeps the first of a repeated snapshot', async () => {
    const monday = snapshots({ count: 4, start: day(5) });
    const tuesday = snapshots({ count: 3, start: day(6) });
    const repeated = { ...monday[3], spot: 1 }; // Monday's last snapshot again, in Tuesday's file
    const ndx = snapshots({ ticker: 'NDX', count: 3, start: day(7) });
    ndx[1] = { ...ndx[1], spot: 'not a number' };
    const { job } = await importZip(
      [
        { name: 'gex/' },
        { name: 'gex/SPX_2026-01-05.json', content: json(monday) },
        { name: '__MACOSX/gex/._SPX_2026-01-05.json', content: Buffer.from([0, 5, 22, 7, 0, 2, 0, 0]) },
        { name: 'gex/SPX_2026-01-06.json', content: json([...tuesday, repeated]), dataDescriptor: true },
        { name: 'gex/.DS_Store', content: Buffer.from([0, 0, 0, 1, 66, 117, 100, 49]) },
        { name: 'gex/NDX_2026-01-07.ndjson', content: ndjson(ndx), method: 0 },
      ],
      { IMPORT_MAX_BAD_RATIO: '0.2' },
    );
    expect(job.error).toBeNull();
    expect(job.state).toBe('done');
    expect([job.recordsDone, job.recordsValid, job.recordsInvalid]).toEqual([11, 10, 1]);
    expect([job.snapshotsInserted, job.strikesInserted, job.report.duplicatesInFile]).toEqual([9, 9 * 20, 1]);
    expect([job.report.encoding, job.report.layout]).toEqual(['zip', 'mixed']);
    expect(job.report.entries).toEqual(['gex/SPX_2026-01-05.json', 'gex/SPX_2026-01-06.json', 'gex/NDX_2026-01-07.ndjson']);
    expect(importJobSchema.parse(job).report.entries).toEqual(job.report.entries);
    // The record index runs across the archive: Monday 0-3, Tuesday 4-7, the NDX lines 8-10.
    expect(job.report.invalidExamples).toEqual([
      expect.objectContaining({ index: 9, entry: 'gex/NDX_2026-01-07.ndjson', message: expect.stringMatching(/spot/) }),
    ]);
    expect(job.report.tickers).toEqual(['NDX', 'SPX']);
    const rows = await (t as TestWorkstation).ws.stores.warehouse.rows<{ ticker: string; date: string; n: number }>(
      `SELECT ticker, strftime(ts, '%Y-%m-%d') AS date, count(*)::INTEGER AS n FROM gex_snapshots
       GROUP BY ALL ORDER BY date`,
    );
    expect(rows).toEqual([
      { ticker: 'SPX', date: '2026-01-05', n: 4 },
      { ticker: 'SPX', date: '2026-01-06', n: 3 },
      { ticker: 'NDX', date: '2026-01-07', n: 2 },
    ]);
    const [{ spot }] = await (t as TestWorkstation).ws.stores.warehouse.rows<{ spot: number }>(
      "SELECT spot FROM gex_snapshots WHERE ticker = 'SPX' AND ts = TIMESTAMP '2026-01-05 14:34:00'",
    );
    expect(spot).toBe(monday[3]?.spot);
  });

  it('an entry compressed with a method other than stored or deflate refuses the whole archive, naming it', async () => {
    const job = await expectRefused(
      [
        { name: 'SPX_2026-01-05.json', content: json(snapshots({ count: 4, start: day(5) })) },
        { name: 'SPX_2026-01-06.json', content: json(snapshots({ count: 4, start: day(6) })), method: 0 },
        { name: 'SPX_2026-01-07.json.bz2', content: 'BZh91AY&SY not really bzip2', method: 12 },
      ],
      'IMPORT_BAD_ARCHIVE',
    );
    expect(job.error).toMatch(/entry SPX_2026-01-07\.json\.bz2 uses compression method 12/);
    expect(job.recordsDone).toBe(0);
  });

  it('a file truncated inside the archive fails the import, naming the entry; nothing of the archive is merged', async () => {
    const tuesday = json(snapshots({ count: 4, start: day(6) }));
    const job = await expectRefused(
      [
        { name: 'SPX_2026-01-05.json', content: json(snapshots({ count: 4, start: day(5) })) },
        { name: 'SPX_2026-01-06.json', content: tuesday.slice(0, Math.floor(tuesday.length * 0.6)) },
        { name: 'SPX_2026-01-07.json', content: json(snapshots({ count: 4, start: day(7) })) },
      ],
      'IMPORT_TRUNCATED',
    );
    expect(job.error).toMatch(/^The file is truncated: .* \(zip entry SPX_2026-01-06\.json\)$/);
  });

  it('an archive holding only folders and macOS metadata holds no file', async () => {
    const job = await expectRefused(
      [{ name: 'gex/' }, { name: '__MACOSX/gex/._SPX.json', content: 'x' }, { name: '.DS_Store', content: 'x' }],
      'IMPORT_BAD_ARCHIVE',
    );
    expect(job.error).toMatch(/the archive holds no file/);
  });
});
