/**
 * Integrity checks read the warehouse and report what a trader must not trust: zero spot, spot
 * jumps, strikes far from spot, missing minutes in market hours; a clean import passes.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { snapshots, TEST_ENV } from '../imports/support';
import { removeDir, tempDir } from '../support/temp';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

let t: TestWorkstation | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await t?.dispose();
  t = undefined;
  for (const d of dirs.splice(0)) removeDir(d);
});

/** A full regular session (09:30–15:59 New York) on Monday 2026-01-05, one snapshot a minute. */
function fullSession() {
  return snapshots({ count: 390, strikes: 3, start: Date.UTC(2026, 0, 5, 14, 30) / 1000 });
}

async function importSnapshots(ws: TestWorkstation['ws'], dir: string, snaps: Record<string, unknown>[]) {
  const file = join(dir, `h${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(snaps));
  const job = await ws.imports.queue.waitFor(ws.imports.queue.enqueue({ path: file }).job.id);
  expect(job.state).toBe('done');
  return job;
}

describe('integrity checks', () => {
  it('a complete, clean session passes every GEX check and absent tables are skipped with a note', async () => {
    t = await openTestWorkstation(TEST_ENV);
    const job = await importSnapshots(t.ws, t.dataDir, fullSession());
    const linked = t.ws.imports.integrity.get(job.report.integrityReportId as string);
    expect(linked.trigger).toBe(`import ${job.id}`);
    expect(linked.status).toBe('pass');
    const report = await t.ws.imports.integrity.run({ sources: ['gex', 'bars'] });
    expect(report.status).toBe('pass');
    const gex = report.findings.filter((f) => f.source === 'gex');
    expect(gex.find((f) => f.check.startsWith('gaps'))?.status).toBe('pass');
    expect(gex.find((f) => f.check === 'spot check vs source')?.status).toBe('skipped');
    expect(t.ws.imports.integrity.list()[0]?.id).toBe(report.id);
  });

  it('finds zero spot, spot jumps, far strikes and gaps, with the offending rows, and fails', async () => {
    t = await openTestWorkstation(TEST_ENV);
    const snaps = fullSession();
    snaps[10] = { ...snaps[10], spot: 0 };
    snaps[20] = { ...snaps[20], spot: 9000 };
    snaps[30] = { ...snaps[30], strikes: [[1000, 1, 1, []]] };
    snaps.splice(100, 15); // 15 minutes missing from 11:10
    await importSnapshots(t.ws, t.dataDir, snaps);
    const report = await t.ws.imports.integrity.run({ sources: ['gex'] });
    expect(report.status).toBe('fail');
    const by = (check: string) => report.findings.find((f) => f.check.startsWith(check));
    expect(by('zero or negative values')).toMatchObject({ status: 'fail', count: 1 });
    expect(by('zero or negative values')?.rows[0]).toMatchObject({ ticker: 'SPX', spot: 0 });
    expect(by('price jumps')?.status).toBe('warn');
    expect(by('price jumps')?.count).toBe(2); // into 9000 and back
    expect(by('strikes far from spot')).toMatchObject({ status: 'warn', count: 1 });
    expect(by('strikes far from spot')?.rows[0]).toMatchObject({ strike: 1000 });
    expect(by('gaps')).toMatchObject({ status: 'warn', count: 1 });
    expect(by('gaps')?.rows[0]).toMatchObject({ missing_minutes: 15, date: '2026-01-05' });
    // The stored report reads back the same, findings and rows included.
    expect(t.ws.imports.integrity.get(report.id)).toEqual(report);
  });

  it('expects snapshots only until 13:00 New York on an early-close day', async () => {
    t = await openTestWorkstation(TEST_ENV);
    // Friday 2026-11-27, the day after Thanksgiving: 09:30–12:59, one snapshot a minute, then nothing.
    const start = Date.UTC(2026, 10, 27, 14, 30) / 1000;
    await importSnapshots(t.ws, t.dataDir, snapshots({ count: 210, strikes: 3, start }));
    const report = await t.ws.imports.integrity.run({ sources: ['gex'] });
    expect(report.findings.find((f) => f.check.startsWith('gaps'))).toMatchObject({ status: 'pass', count: 0 });
    // The Monday after is a full session again: nothing imported there yet, 390 minutes missing.
    await importSnapshots(t.ws, t.dataDir, snapshots({ count: 1, strikes: 3, start: Date.UTC(2026, 11, 1, 14, 30) / 1000 }));
    const next = await t.ws.imports.integrity.run({ sources: ['gex'] });
    const gaps = next.findings.find((f) => f.check.startsWith('gaps'));
    expect(gaps?.rows).toContainEqual(expect.objectContaining({ date: '2026-11-30', missing_minutes: 390 }));
  });

  it('`marketdesk integrity check` exits non-zero when a check fails and zero when all pass', async () => {
    const dataDir = tempDir('marketdesk-integrity-');
    dirs.push(dataDir);
    t = await openTestWorkstation(TEST_ENV, { dataDir });
    await importSnapshots(t.ws, dataDir, fullSession());
    await t.ws.stop();
    t = undefined;
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['bin/marketdesk.js', 'integrity', 'check', ...args], {
        env: { ...process.env, DATA_DIR: dataDir, WEBHOOK_PORT: '0' },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const ok = run(['--source', 'gex']);
    expect(ok.stdout).toMatch(/PASS/);
    expect(ok.status).toBe(0);

    t = await openTestWorkstation(TEST_ENV, { dataDir });
    const bad = fullSession()
      .slice(0, 3)
      .map((s) => ({ ...s, timestamp: (s.timestamp as number) + 86_400, spot: -1 }));
    await importSnapshots(t.ws, dataDir, bad);
    await t.ws.stop();
    t = undefined;
    const failing = run(['--source', 'gex']);
    expect(failing.stdout).toMatch(/FAIL/);
    expect(failing.stdout).toMatch(/zero or negative values/);
    expect(failing.status).toBe(1);
    const usage = run(['--source', 'weather']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/weather/);
  });
});
