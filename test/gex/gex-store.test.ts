import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { classicToRows, gexClassicSnapshotSchema, writeGexSnapshots } from '../../core/gex';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

const FIXTURES = '/work/shared/fixtures/webhooks';

describe('GEX snapshot schema and writer', () => {
  let t: TestWorkstation | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('parses the gexbot classic fixture, keeps unknown fields and writes it once however often it is written', async () => {
    t = await openTestWorkstation({}, { start: false });
    const raw = JSON.parse(readFileSync(`${FIXTURES}/gexbot-classic.json`, 'utf8'));
    const snap = gexClassicSnapshotSchema.parse({ ...raw, new_field: 'kept' });
    const bundle = classicToRows(snap, { source: 'gexbot' });
    expect(bundle.snapshot.tsMs).toBe(1777492800000);
    expect(JSON.parse(bundle.snapshot.extra ?? '{}').new_field).toBe('kept');
    expect(bundle.strikes).toHaveLength(4);
    const wh = t.ws.stores.warehouse;
    await writeGexSnapshots(wh, [bundle]);
    await writeGexSnapshots(wh, [bundle, bundle]);
    const snaps = await wh.rows<{ n: number; spot: number }>(
      'SELECT count(*)::INTEGER AS n, max(spot) AS spot FROM gex_snapshots',
    );
    const strikes = await wh.rows<{ n: number }>('SELECT count(*)::INTEGER AS n FROM gex_strikes');
    expect(snaps[0]).toEqual({ n: 1, spot: 7138.55 });
    expect(strikes[0].n).toBe(4);
  });

  it('refuses milliseconds in timestamp and names the field', () => {
    const res = gexClassicSnapshotSchema.safeParse({ timestamp: 1777492800000, ticker: 'SPX', strikes: [] });
    expect(res.success).toBe(false);
    expect(res.error?.issues[0].path).toEqual(['timestamp']);
  });
});
