import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  classicToRows,
  type GexStrikeRow,
  gexClassicSnapshotSchema,
  warehouseMigrations,
  writeGexRows,
  writeGexSnapshots,
} from '../../core/gex';
import { Warehouse } from '../../core/storage/warehouse';
import { removeDir, tempDir } from '../support/temp';
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

  const strike = (tsMs: number, strike: number, gexVol: number): GexStrikeRow => ({
    ticker: 'SPY',
    category: 'uw',
    tsMs,
    expiry: '',
    strike,
    source: 'test',
    gexVol,
    gexOi: null,
    priors: null,
    extra: null,
  });
  const T0 = Date.UTC(2026, 4, 1, 14, 30);

  it('keeps the strike key unique without an index: replace takes the new values, ignore keeps the stored ones', async () => {
    t = await openTestWorkstation({}, { start: false });
    const wh = t.ws.stores.warehouse;
    const indexes = await wh.rows<{ n: number }>(
      "SELECT count(*)::INTEGER AS n FROM duckdb_constraints() WHERE table_name = 'gex_strikes' AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
    );
    expect(indexes[0].n).toBe(0);
    const write = (rows: GexStrikeRow[], mode?: 'replace' | 'ignore') =>
      wh.transaction((conn) => writeGexRows(conn, { strikes: rows }, { mode }));
    // An older and a newer time outside the batches' range must stay as they are.
    await write([strike(T0 - 60_000, 500, 1), strike(T0, 500, 1), strike(T0, 505, 2), strike(T0 + 3_600_000, 500, 9)]);
    await write([strike(T0, 500, 10), strike(T0, 510, 3)]);
    await write([strike(T0, 505, 20), strike(T0, 515, 4)], 'ignore');
    const rows = await wh.rows<{ ts: number; strike: number; gex_vol: number }>(
      'SELECT epoch_ms(ts)::BIGINT AS ts, strike, gex_vol FROM gex_strikes ORDER BY ts, strike',
    );
    expect(rows.map((r) => [Number(r.ts) - T0, r.strike, r.gex_vol])).toEqual([
      [-60_000, 500, 1],
      [0, 500, 10],
      [0, 505, 2],
      [0, 510, 3],
      [0, 515, 4],
      [3_600_000, 500, 9],
    ]);
  });

  it('gex/0002 moves the strike rows of an older warehouse into the unindexed table unchanged', async () => {
    const dir = tempDir('marketdesk-gex-migrate-');
    const wh = await Warehouse.open(`${dir}/market.duckdb`);
    try {
      await wh.migrate(warehouseMigrations.slice(0, 1));
      await wh.run(
        `INSERT INTO gex_strikes VALUES ('SPX', 'gexbot', TIMESTAMP '2026-05-01 14:30:00', '', 7100, 'import', 1.5, -2, '[1,2]', NULL),
                                       ('SPX', 'gexbot', TIMESTAMP '2026-05-01 14:30:00', '2026-05-15', 7100, 'import', 3, NULL, NULL, '{"x":1}')`,
      );
      expect(await wh.migrate(warehouseMigrations)).toEqual(['gex/0002_strikes_key_without_index']);
      const rows = await wh.rows<Record<string, unknown>>(
        'SELECT ticker, category, ts::VARCHAR AS ts, expiry, strike, source, gex_vol, gex_oi, priors::VARCHAR AS priors, extra::VARCHAR AS extra FROM gex_strikes ORDER BY expiry',
      );
      expect(rows).toEqual([
        {
          ticker: 'SPX',
          category: 'gexbot',
          ts: '2026-05-01 14:30:00',
          expiry: '',
          strike: 7100,
          source: 'import',
          gex_vol: 1.5,
          gex_oi: -2,
          priors: '[1,2]',
          extra: null,
        },
        {
          ticker: 'SPX',
          category: 'gexbot',
          ts: '2026-05-01 14:30:00',
          expiry: '2026-05-15',
          strike: 7100,
          source: 'import',
          gex_vol: 3,
          gex_oi: null,
          priors: null,
          extra: '{"x":1}',
        },
      ]);
      await expect(
        wh.run("INSERT INTO gex_strikes VALUES (NULL, 'gexbot', now(), '', 1, 's', 1, 1, NULL, NULL)"),
      ).rejects.toThrow(/NOT NULL/);
    } finally {
      await wh.close();
      removeDir(dir);
    }
  });
});
