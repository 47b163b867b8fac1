/**
 * Imports survive what the machine does to them: a SIGKILL between staging and merge resumes at
 * the next start without importing twice; a full or read-only disk fails the job cleanly; a merge
 * that fails rolls back whole.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listBackups } from '../../core/imports';
import { mergeStaged } from '../../core/imports/gex-merge';
import { removeDir, tempDir } from '../support/temp';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { body, serveFiles, snapshots, TEST_ENV, tableChecksums } from './support';

let t: TestWorkstation | undefined;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await t?.dispose();
  t = undefined;
});

describe('imports and crashes', () => {
  it('a job killed between staging and merge resumes at the next start and imports exactly once', async () => {
    const dataDir = tempDir('marketdesk-crash-');
    cleanups.push(() => removeDir(dataDir));
    const file = join(dataDir, 'history.json');
    await writeFile(file, JSON.stringify(snapshots({ count: 30, strikes: 40 })));

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/imports/crash-child.ts', dataDir, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    expect(signal).toBe('SIGKILL');
    expect(code).toBeNull();
    const jobId = /KILLING (\S+)/.exec(out)?.[1] as string;
    expect(jobId).toMatch(/^imp_/);

    // After the crash: the staged rows are there, the clean tables are untouched.
    t = await openTestWorkstation(TEST_ENV, { dataDir, start: false });
    expect(await tableChecksums(t.ws.stores.warehouse)).toEqual({ gex_snapshots: '0:0', gex_strikes: '0:0' });
    const staged = await t.ws.stores.warehouse.rows<{ n: number }>(
      'SELECT count(*)::INTEGER AS n FROM import_staged_gex_strikes WHERE job_id = $1',
      [jobId],
    );
    expect(staged[0]?.n).toBe(30 * 40);
    const interrupted = t.ws.imports.queue.get(jobId);
    expect([interrupted.state, interrupted.step]).toEqual(['importing', 'validated']);
    expect(await listBackups(dataDir)).toHaveLength(1);
    // `marketdesk import retry <id>` takes such a job too (nothing else can be running it): back in the queue, marker kept.
    expect(t.ws.imports.queue.retry(jobId)).toMatchObject({ state: 'queued', step: 'validated' });

    // Restart: the job resumes from its marker (no new backup, no re-validation) and finishes.
    await t.ws.start();
    const done = await t.ws.imports.queue.waitFor(jobId);
    expect(done.state).toBe('done');
    expect(done.attempts).toBe(2);
    expect([done.snapshotsInserted, done.strikesInserted]).toEqual([30, 1200]);
    expect(await listBackups(dataDir)).toHaveLength(1);
    const [{ n }] = await t.ws.stores.warehouse.rows<{ n: number }>('SELECT count(*)::INTEGER AS n FROM gex_strikes');
    expect(n).toBe(1200);
  });

  it('a job running when the app stops goes back to the queue and finishes at the next start', async () => {
    const dataDir = tempDir('marketdesk-stop-');
    cleanups.push(() => removeDir(dataDir));
    const file = join(dataDir, 'history.json');
    await writeFile(file, JSON.stringify(snapshots({ count: 400, strikes: 200 })));
    t = await openTestWorkstation(TEST_ENV, { dataDir });
    const q = t.ws.imports.queue;
    const { job } = q.enqueue({ path: file });
    const deadline = Date.now() + 20_000;
    while (!['validating', 'importing'].includes(q.get(job.id).state) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await t.ws.stop();
    t = await openTestWorkstation(TEST_ENV, { dataDir, start: false });
    expect(t.ws.imports.queue.get(job.id).state).toBe('queued');
    await t.ws.start();
    const done = await t.ws.imports.queue.waitFor(job.id);
    expect([done.state, done.attempts, done.strikesInserted]).toEqual(['done', 2, 80_000]);
  });

  it('a merge that fails before commit rolls back: clean tables keep their checksums, staged rows stay', async () => {
    t = await openTestWorkstation(TEST_ENV);
    const q = t.ws.imports.queue;
    const seed = join(t.dataDir, 'seed.json');
    await writeFile(seed, JSON.stringify(snapshots({ count: 5 })));
    await q.waitFor(q.enqueue({ path: seed }).job.id);
    const before = await tableChecksums(t.ws.stores.warehouse);

    // Stage a second file by hand through the real staging step, then make its merge fail at the last moment.
    const { validateAndStage } = await import('../../core/imports/gex-stage');
    const file = join(t.dataDir, 'more.json');
    await writeFile(file, JSON.stringify(snapshots({ count: 7, start: Date.UTC(2026, 0, 6, 14, 31) / 1000 })));
    await validateAndStage(t.ws.stores.warehouse, {
      jobId: 'manual-job',
      category: 'full',
      source: 'test',
      stagedPath: file,
      partsDir: join(t.dataDir, 'staging', 'manual.parts'),
      maxBadRatio: 0,
    });
    await expect(
      mergeStaged(t.ws.stores.warehouse, 'manual-job', {
        beforeCommit: () => {
          throw new Error('disk gave up');
        },
      }),
    ).rejects.toThrow('disk gave up');
    expect(await tableChecksums(t.ws.stores.warehouse)).toEqual(before);
    const [{ n }] = await t.ws.stores.warehouse.rows<{ n: number }>(
      "SELECT count(*)::INTEGER AS n FROM import_staged_gex_snapshots WHERE job_id = 'manual-job'",
    );
    expect(n).toBe(7);
    // The same merge without the failure commits everything once.
    const merged = await mergeStaged(t.ws.stores.warehouse, 'manual-job');
    expect(merged.snapshotsInserted).toBe(7);
    expect((await mergeStaged(t.ws.stores.warehouse, 'manual-job')).alreadyMerged).toBe(true);
  });

  it('a read-only staging folder fails the download with a disk error; tables unchanged, backup present', async () => {
    const server = await serveFiles({ '/h.json': body(JSON.stringify(snapshots({ count: 3 }))) });
    cleanups.push(() => server.close());
    t = await openTestWorkstation(TEST_ENV);
    const staging = join(t.dataDir, 'staging');
    mkdirSync(staging, { recursive: true });
    makeReadOnly(staging);
    cleanups.push(() => undoReadOnly(staging));
    const before = await tableChecksums(t.ws.stores.warehouse);
    const job = await t.ws.imports.queue.waitFor(t.ws.imports.queue.enqueue({ url: server.url('/h.json') }).job.id);
    expect(job.state).toBe('failed');
    expect(job.errorCode).toBe('IMPORT_DISK');
    expect(job.error).toMatch(/staging/);
    expect(await tableChecksums(t.ws.stores.warehouse)).toEqual(before);
    expect(job.backupId).toMatch(/^bk_/);
  });

  it('a full disk during the download fails the job with a disk error; tables unchanged, backup present', async () => {
    const big = JSON.stringify(snapshots({ count: 60, strikes: 60 }));
    const server = await serveFiles({ '/big.json': body(big) });
    cleanups.push(() => server.close());
    t = await openTestWorkstation(TEST_ENV);
    const staging = join(t.dataDir, 'staging');
    mkdirSync(staging, { recursive: true });
    const full = fillDisk(staging);
    cleanups.push(full.undo);
    const before = await tableChecksums(t.ws.stores.warehouse);
    const job = await t.ws.imports.queue.waitFor(t.ws.imports.queue.enqueue({ url: server.url('/big.json') }).job.id);
    expect(job.state).toBe('failed');
    expect(job.errorCode).toBe('IMPORT_DISK');
    expect(job.error).toMatch(full.expect);
    expect(await tableChecksums(t.ws.stores.warehouse)).toEqual(before);
    expect((await listBackups(t.dataDir)).map((b) => b.id)).toContain(job.backupId);
  });
});

/** Root ignores permission bits, so use the immutable flag when running as root. */
function makeReadOnly(dir: string): void {
  if (process.getuid?.() === 0) {
    const r = spawnSync('chattr', ['+i', dir]);
    if (r.status !== 0) throw new Error(`chattr +i failed: ${r.stderr}`);
  } else {
    spawnSync('chmod', ['555', dir]);
  }
}

function undoReadOnly(dir: string): void {
  if (process.getuid?.() === 0) spawnSync('chattr', ['-i', dir]);
  else spawnSync('chmod', ['755', dir]);
}

/** A 64 KiB tmpfs over the staging folder when we may mount (root); else a read-only folder. */
function fillDisk(dir: string): { undo: () => void; expect: RegExp } {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
  if (r.status === 0) return { undo: () => void spawnSync('umount', [dir]), expect: /ENOSPC/ };
  makeReadOnly(dir);
  return { undo: () => undoReadOnly(dir), expect: /staging/ };
}
