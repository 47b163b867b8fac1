/** `marketdesk import` and `marketdesk export` from a terminal, on a stopped app. */
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp';
import { snapshots } from './support';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function marketdesk(args: string[], dataDir: string) {
  return spawnSync(process.execPath, ['bin/marketdesk.js', ...args], {
    env: { ...process.env, DATA_DIR: dataDir, WEBHOOK_PORT: '0', BACKUP_SCHEDULE: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('marketdesk import / export', () => {
  it('imports a local file, reports it, imports the same file again as a duplicate, and exports a table', () => {
    const dataDir = tempDir('marketdesk-cli-import-');
    dirs.push(dataDir);
    const file = join(dataDir, 'spx.json');
    writeFileSync(file, JSON.stringify(snapshots({ count: 6 })));
    const first = marketdesk(['import', file], dataDir);
    expect(first.stderr).toMatch(/validating/);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/done .*6 valid \/ 0 invalid .*6 snapshots, 120 strike rows new/);
    expect(first.stdout).toMatch(/Backup taken before the import: bk_/);

    const again = marketdesk(['import', file], dataDir);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/Same content as imp_/);

    const missing = marketdesk(['import', join(dataDir, 'nope.json')], dataDir);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope\.json" does not exist/);
    expect(marketdesk(['import', 'list'], dataDir).stdout).not.toMatch(/nope\.json/);

    const exported = marketdesk(['export', 'gex_snapshots'], dataDir);
    expect(exported.status).toBe(0);
    expect(exported.stdout).toMatch(/6 rows of gex_snapshots in 1 partitions/);
    expect(readdirSync(join(dataDir, 'parquet', 'gex_snapshots', 'ticker=SPX'))).toEqual(['date=2026-01-05']);
    const ranged = marketdesk(['export', 'gex_snapshots', '--from', '2026-01-05', '--to', '2026-01-06T00:00:00Z'], dataDir);
    expect(ranged.status).toBe(0);
    expect(ranged.stdout).toMatch(/6 rows of gex_snapshots/);
    const badDate = marketdesk(['export', 'gex_snapshots', '--from', 'garbage'], dataDir);
    expect(badDate.status).toBe(2);
    expect(badDate.stderr).toContain('--from "garbage" is not a date such as 2026-01-05');

    const usage = marketdesk(['import'], dataDir);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/url-or-path/);
  });
});
