/**
 * Backups: taken while the app writes, verified by opening the copies, restored only on a stopped
 * app (the CLI), which keeps a backup of what it replaces.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackup, listBackups, restoreBackup, verifyBackup } from '../../core/imports';
import { ALL_MIGRATIONS } from '../../core/migrations';
import { openStores } from '../../core/storage';
import { removeDir, tempDir } from '../support/temp';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { snapshots, TEST_ENV, tableChecksums } from './support';

let t: TestWorkstation | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await t?.dispose();
  t = undefined;
  for (const d of dirs.splice(0)) removeDir(d);
});

function marketdesk(args: string[], dataDir: string) {
  return spawnSync(process.execPath, ['bin/marketdesk.js', ...args], {
    env: { ...process.env, DATA_DIR: dataDir, WEBHOOK_PORT: '0', BACKUP_SCHEDULE: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

async function importFile(ws: TestWorkstation['ws'], dir: string, name: string, day: number) {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(snapshots({ count: 4, start: Date.UTC(2026, 0, day, 14, 31) / 1000 })));
  const job = await ws.imports.queue.waitFor(ws.imports.queue.enqueue({ path: file }).job.id);
  expect(job.state).toBe('done');
  return job;
}

describe('backups', () => {
  it('a backup taken on demand verifies, and a tampered copy does not', async () => {
    t = await openTestWorkstation(TEST_ENV);
    await importFile(t.ws, t.dataDir, 'a.json', 5);
    const b = await createBackup(t.ws.stores, t.dataDir, { reason: 'test', retention: 10 });
    expect(b.counts.warehouse.gex_strikes).toBe(80);
    expect(b.counts.journal.import_jobs).toBe(1);
    expect(await verifyBackup(t.dataDir, b.id)).toEqual({ id: b.id, ok: true, problems: [] });
    appendFileSync(join(t.dataDir, 'backups', b.id, 'market.duckdb'), 'garbage');
    const bad = await verifyBackup(t.dataDir, b.id);
    expect(bad.ok).toBe(false);
    expect(bad.problems[0]).toMatch(/checksum/);
  });

  it('keeps only BACKUP_RETENTION backups, newest first', async () => {
    t = await openTestWorkstation({ ...TEST_ENV, BACKUP_RETENTION: '2' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createBackup(t.ws.stores, t.dataDir, { reason: `n${i}`, retention: 2 })).id);
    const kept = (await listBackups(t.dataDir)).map((b) => b.id);
    expect(kept).toHaveLength(2);
    expect(kept).not.toContain(ids[0]);
  });

  it('restores an older backup: the safety copy of the replaced state does not prune it away first', async () => {
    const dataDir = tempDir('marketdesk-backup-');
    dirs.push(dataDir);
    t = await openTestWorkstation(TEST_ENV, { dataDir });
    await importFile(t.ws, dataDir, 'a.json', 5);
    const stateA = await tableChecksums(t.ws.stores.warehouse);
    const older = await createBackup(t.ws.stores, dataDir, { reason: 'after a' });
    await importFile(t.ws, dataDir, 'b.json', 6);
    const before = (await listBackups(dataDir)).map((b) => b.id);
    expect(before.indexOf(older.id)).toBeGreaterThan(0);
    await t.ws.stop();
    t = undefined;

    const done = await restoreBackup(dataDir, older.id, () => openStores(dataDir, ALL_MIGRATIONS));
    expect(done.restored).toBe(older.id);
    expect((await listBackups(dataDir)).map((b) => b.id)).toEqual([done.safetyBackup, ...before]);
    t = await openTestWorkstation(TEST_ENV, { dataDir });
    expect(await tableChecksums(t.ws.stores.warehouse)).toEqual(stateA);
  });

  it('restoring the backup taken before an import undoes that import for good: the job is not resumed', async () => {
    const dataDir = tempDir('marketdesk-backup-');
    dirs.push(dataDir);
    t = await openTestWorkstation(TEST_ENV, { dataDir });
    await importFile(t.ws, dataDir, 'a.json', 5);
    const stateA = await tableChecksums(t.ws.stores.warehouse);
    const jobB = await importFile(t.ws, dataDir, 'b.json', 6);
    const beforeB = (await listBackups(dataDir)).find((b) => b.reason === `before import ${jobB.id}`);
    expect(beforeB).toBeDefined();
    await t.ws.stop();
    t = undefined;

    const restore = marketdesk(['backup', 'restore', beforeB?.id as string], dataDir);
    expect(restore.status).toBe(0);
    // The backup holds job B as in progress; the queue starts with the app and must not pick it up again.
    t = await openTestWorkstation(TEST_ENV, { dataDir });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(t.ws.imports.queue.get(jobB.id)).toMatchObject({ state: 'cancelled', errorCode: 'RESTORED' });
    expect(await tableChecksums(t.ws.stores.warehouse)).toEqual(stateA);
  });

  it('over BACKUP_RETENTION, backups before imports that changed nothing go first', async () => {
    t = await openTestWorkstation({ ...TEST_ENV, BACKUP_RETENTION: '2' });
    const real = await importFile(t.ws, t.dataDir, 'a.json', 5);
    const beforeReal = (await listBackups(t.dataDir)).find((b) => b.jobId === real.id);
    expect(beforeReal).toBeDefined();
    // Three imports of a file that is no history: each takes its backup, fails, and changes nothing.
    for (let i = 0; i < 3; i++) {
      const q = t.ws.imports.queue;
      const path = join(t.dataDir, `not-json-${i}.json`);
      writeFileSync(path, `not JSON ${i}`);
      const failed = await q.waitFor(q.enqueue({ path }).job.id);
      expect(failed.state).toBe('failed');
    }
    const kept = await listBackups(t.dataDir);
    expect(kept).toHaveLength(2);
    expect(kept.map((b) => b.id)).toContain(beforeReal?.id);
  });

  it('the CLI creates, lists, verifies and restores; restore refuses while the app runs and keeps the replaced state', async () => {
    const dataDir = tempDir('marketdesk-backup-');
    dirs.push(dataDir);
    t = await openTestWorkstation(TEST_ENV, { dataDir });
    await importFile(t.ws, dataDir, 'a.json', 5);
    const stateA = await tableChecksums(t.ws.stores.warehouse);
    const [taken] = await listBackups(dataDir); // the backup taken before that import (empty tables)
    const mine = await createBackup(t.ws.stores, dataDir, { reason: 'after A', retention: 10 });

    // While the app runs, restore is refused and nothing changes.
    const refused = marketdesk(['backup', 'restore', mine.id], dataDir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/running/);

    await importFile(t.ws, dataDir, 'b.json', 6);
    const stateB = await tableChecksums(t.ws.stores.warehouse);
    expect(stateB).not.toEqual(stateA);
    await t.ws.stop();
    t = undefined;

    const list = marketdesk(['backup', 'list'], dataDir);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(mine.id);
    const verify = marketdesk(['backup', 'verify', mine.id], dataDir);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/OK/);

    const restore = marketdesk(['backup', 'restore', mine.id], dataDir);
    expect(restore.stderr).toBe('');
    expect(restore.status).toBe(0);
    const safety = /kept as (bk_\S+)\./.exec(restore.stdout)?.[1] as string;
    expect(safety).toMatch(/^bk_/);

    t = await openTestWorkstation(TEST_ENV, { dataDir, start: false });
    expect(await tableChecksums(t.ws.stores.warehouse)).toEqual(stateA);
    const safetyManifest = (await listBackups(dataDir)).find((b) => b.id === safety);
    expect(safetyManifest?.counts.warehouse.gex_strikes).toBe(160);
    expect(taken?.counts.warehouse.gex_strikes).toBe(0);
  });
});
