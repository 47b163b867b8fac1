/**
 * The merge adds only what is not clean yet: an import overlapping rows that the /gex webhook
 * already stored keeps those rows as they are and inserts the rest, in one transaction.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { classicToRows, gexClassicSnapshotSchema, writeGexSnapshots } from '../../core/gex';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { snapshots, TEST_ENV } from './support';

describe('merging an import into clean tables', () => {
  let t: TestWorkstation | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('a history file overlapping live snapshots keeps the live rows and adds only the missing ones', async () => {
    t = await openTestWorkstation(TEST_ENV);
    const wh = t.ws.stores.warehouse;
    // Live data first: the first 4 minutes of the file with 10 of its 20 strikes and other values,
    // plus one snapshot of the next day at the same time and strikes (outside the file's range).
    const live = snapshots({ count: 4, strikes: 10 }).map((s) => ({
      ...s,
      strikes: (s.strikes as unknown[][]).map((r) => [r[0], 999, 111, [9]]),
    }));
    const nextDay = snapshots({ count: 1, strikes: 20, start: Date.UTC(2026, 0, 6, 14, 31) / 1000 });
    await writeGexSnapshots(
      wh,
      [...live, ...nextDay].map((s) => classicToRows(gexClassicSnapshotSchema.parse(s), { source: 'gexbot' })),
    );

    const file = join(t.dataDir, 'history.json');
    await writeFile(file, JSON.stringify(snapshots({ count: 10, strikes: 20 })));
    const q = t.ws.imports.queue;
    const job = await q.waitFor(q.enqueue({ path: file }).job.id);

    expect([job.state, job.snapshotsInserted, job.strikesInserted]).toEqual(['done', 6, 10 * 20 - 4 * 10]);
    const bySource = await wh.rows<{ origin: string; n: number; vol: number }>(
      `SELECT CASE WHEN source = 'gexbot' THEN 'live' ELSE 'import' END AS origin, count(*)::INTEGER AS n, max(gex_vol) AS vol
       FROM gex_strikes GROUP BY origin ORDER BY origin DESC`,
    );
    // The live rows kept their values; the import filled the other strikes of those minutes and the 6 new minutes.
    expect(bySource).toEqual([
      { origin: 'live', n: 4 * 10 + 20, vol: 999 },
      { origin: 'import', n: 160, vol: expect.any(Number) },
    ]);
    const [{ dupes }] = await wh.rows<{ dupes: number }>(
      `SELECT count(*)::INTEGER AS dupes FROM (
         SELECT ticker, category, ts, expiry, strike FROM gex_strikes GROUP BY ALL HAVING count(*) > 1)`,
    );
    expect(dupes).toBe(0);
    const [{ snaps }] = await wh.rows<{ snaps: number }>('SELECT count(*)::INTEGER AS snaps FROM gex_snapshots');
    expect(snaps).toBe(10 + 1);
  });
});
