/**
 * History imports end to end: a real workstation on temp stores, files served by a real HTTP
 * server on 127.0.0.1. Every bad input ends with a clear job error, the clean tables unchanged
 * (checksums) and a backup on disk.
 */
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callOrThrow } from '../../core/api';
import { listBackups } from '../../core/imports';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { body, type FileServer, serveFiles, snapshots, TEST_ENV, tableChecksums, zipOf } from './support';

const seedFile = JSON.stringify(snapshots({ count: 5 }));
const newFile = JSON.stringify(snapshots({ count: 8, start: Date.UTC(2026, 0, 6, 14, 31) / 1000 }));
const tenPercentBad = (() => {
  const snaps = snapshots({ count: 20, start: Date.UTC(2026, 0, 7, 14, 31) / 1000 });
  snaps[3] = { ...snaps[3], spot: 'not a number' };
  snaps[11] = { ...snaps[11], timestamp: 1777492800000 };
  return JSON.stringify(snaps);
})();
const truncated = newFile.slice(0, Math.floor(newFile.length * 0.6));

let server: FileServer;
let t: TestWorkstation;
let failures5xx = 0;

beforeAll(async () => {
  server = await serveFiles({
    '/seed.json': body(seedFile),
    '/new.json.gz': body(gzipSync(newFile), { 'content-type': 'application/gzip' }),
    '/new-again.json.gz': body(gzipSync(newFile), { 'content-type': 'application/gzip' }),
    '/new.json.zst': body(zstdCompressSync(Buffer.from(newFile)), { 'content-type': 'application/zstd' }),
    '/lines.jsonl': body(
      snapshots({ count: 4, start: Date.UTC(2026, 0, 8, 14, 31) / 1000 })
        .map((s) => JSON.stringify(s))
        .join('\n'),
    ),
    '/object.json': body(JSON.stringify({ data: snapshots({ count: 3, start: Date.UTC(2026, 0, 9, 14, 31) / 1000 }) })),
    '/repeats.json': body(
      JSON.stringify(
        (() => {
          const snaps = snapshots({ count: 3, start: Date.UTC(2026, 0, 14, 14, 31) / 1000 });
          const strikes = snaps[1]?.strikes as unknown[];
          strikes.push(strikes[0]); // a repeated strike row
          return [...snaps, { ...snaps[0], spot: 1 }]; // the same snapshot again, later in the file
        })(),
      ),
    ),
    '/new.zip': body(zipOf('SPX_classic_full.json', newFile), { 'content-type': 'application/zip' }),
    '/not-json.json': body('<html><body>Rate limited</body></html>'),
    '/truncated.json': body(truncated),
    '/bad10.json': body(tenPercentBad),
    '/big.json': body(JSON.stringify(snapshots({ count: 50, strikes: 50 }))),
    '/hang.json': () => {
      // Accepts the request and never answers.
    },
    '/flaky.json': (req, res) => {
      if (failures5xx++ < 1) {
        res.statusCode = 503;
        res.end('try later');
        return;
      }
      body(JSON.stringify(snapshots({ count: 2, start: Date.UTC(2026, 0, 12, 14, 31) / 1000 })))(req, res);
    },
  });
});
afterAll(async () => {
  await server.close();
});

async function freshWorkstation(env: Record<string, string> = {}): Promise<TestWorkstation> {
  t = await openTestWorkstation({ ...TEST_ENV, ...env });
  const queue = t.ws.imports.queue;
  const { job } = queue.enqueue({ url: server.url('/seed.json'), source: 'test' });
  const done = await queue.waitFor(job.id);
  expect(done.state).toBe('done');
  return t;
}

afterEach(async () => {
  await t?.dispose();
});

async function expectFailsCleanly(path: string, code: string, env: Record<string, string> = {}) {
  await freshWorkstation(env);
  const before = await tableChecksums(t.ws.stores.warehouse);
  const backupsBefore = (await listBackups(t.dataDir)).length;
  const { job } = t.ws.imports.queue.enqueue({ url: server.url(path), source: 'test' });
  const failed = await t.ws.imports.queue.waitFor(job.id);
  expect(failed.state).toBe('failed');
  expect(failed.errorCode).toBe(code);
  expect(failed.error).toBeTruthy();
  expect(await tableChecksums(t.ws.stores.warehouse)).toEqual(before);
  expect(failed.backupId).toMatch(/^bk_/);
  expect((await listBackups(t.dataDir)).length).toBe(backupsBefore + 1);
  const staged = await t.ws.stores.warehouse.rows<{ n: number }>(
    'SELECT count(*)::INTEGER AS n FROM import_staged_gex_strikes WHERE job_id = $1',
    [job.id],
  );
  expect(staged[0]?.n).toBe(0);
  return failed;
}

describe('a trader imports GEX history', () => {
  it('imports a gzip file from a URL: progress, report, parquet partitions, a backup and an integrity report', async () => {
    await freshWorkstation();
    const seen: string[] = [];
    const off = t.ws.events.subscribe((name, payload) => {
      if (name === 'imports.job') seen.push((payload as { state: string }).state);
    });
    const { job, created } = t.ws.imports.queue.enqueue({ url: server.url('/new.json.gz'), source: 'test' });
    expect(created).toBe(true);
    const done = await t.ws.imports.queue.waitFor(job.id);
    off();
    expect(done.state).toBe('done');
    expect(done.recordsValid).toBe(8);
    expect(done.recordsInvalid).toBe(0);
    expect(done.snapshotsInserted).toBe(8);
    expect(done.strikesInserted).toBe(8 * 20);
    expect(done.report.encoding).toBe('gzip');
    expect(done.report.layout).toBe('array');
    expect(done.report.integrityReportId).toMatch(/^int_/);
    expect(done.contentHash).toMatch(/^[0-9a-f]{64}$/);
    for (const s of ['queued', 'downloading', 'staged', 'validating', 'importing', 'exporting', 'done'])
      expect(seen).toContain(s);
    const part = join(t.dataDir, 'parquet', 'gex_strikes', 'ticker=SPX', 'date=2026-01-06');
    expect(readdirSync(part).some((f) => f.endsWith('.parquet'))).toBe(true);
    const [{ n }] = await t.ws.stores.warehouse.rows<{ n: number }>(
      `SELECT count(*)::INTEGER AS n FROM read_parquet('${join(t.dataDir, 'parquet', 'gex_strikes')}/*/*/*.parquet', hive_partitioning = true) WHERE date = '2026-01-06'`,
    );
    expect(n).toBe(160);
    expect(existsSync(join(t.dataDir, 'backups', done.backupId as string, 'manifest.json'))).toBe(true);
    expect(t.ws.imports.integrity.get(done.report.integrityReportId as string).findings.length).toBeGreaterThan(0);
  });

  it('imports the same file once: same URL returns the same job, the same bytes elsewhere import nothing', async () => {
    await freshWorkstation();
    const q = t.ws.imports.queue;
    const first = q.enqueue({ url: server.url('/new.json.gz'), source: 'test' });
    await q.waitFor(first.job.id);
    const before = await tableChecksums(t.ws.stores.warehouse);
    const again = q.enqueue({ url: server.url('/new.json.gz'), source: 'test' });
    expect(again.created).toBe(false);
    expect(again.job.id).toBe(first.job.id);
    const sameBytes = q.enqueue({ url: server.url('/new-again.json.gz'), source: 'test' });
    const done = await q.waitFor(sameBytes.job.id);
    expect(done.state).toBe('done');
    expect(done.duplicateOf).toBe(first.job.id);
    expect(done.strikesInserted).toBe(0);
    expect(await tableChecksums(t.ws.stores.warehouse)).toEqual(before);
  });

  it('reads zstd, zip, JSON lines, an object of snapshots and a local file', async () => {
    await freshWorkstation();
    const q = t.ws.imports.queue;
    const zst = await q.waitFor(q.enqueue({ url: server.url('/new.json.zst'), source: 'test' }).job.id);
    expect([zst.state, zst.report.encoding, zst.recordsValid]).toEqual(['done', 'zstd', 8]);
    const zip = await q.waitFor(q.enqueue({ url: server.url('/new.zip'), source: 'test' }).job.id);
    expect([zip.state, zip.report.encoding, zip.duplicateOf]).toEqual(['done', 'zip', null]);
    expect(zip.recordsValid).toBe(8);
    const lines = await q.waitFor(q.enqueue({ url: server.url('/lines.jsonl'), source: 'test' }).job.id);
    expect([lines.state, lines.report.layout, lines.snapshotsInserted]).toEqual(['done', 'lines', 4]);
    const obj = await q.waitFor(q.enqueue({ url: server.url('/object.json'), source: 'test' }).job.id);
    expect([obj.state, obj.report.layout, obj.snapshotsInserted]).toEqual(['done', 'object', 3]);
    const local = join(t.dataDir, 'local.json');
    await writeFile(local, JSON.stringify(snapshots({ count: 2, start: Date.UTC(2026, 0, 13, 14, 31) / 1000 })));
    const file = await q.waitFor(q.enqueue({ path: local, source: 'test' }).job.id);
    expect([file.state, file.snapshotsInserted, file.strikesInserted]).toEqual(['done', 2, 40]);
  });

  it('a file repeating a snapshot or a strike row keeps the first occurrence', async () => {
    await freshWorkstation();
    const done = await t.ws.imports.queue.waitFor(
      t.ws.imports.queue.enqueue({ url: server.url('/repeats.json'), source: 'test' }).job.id,
    );
    expect([done.state, done.snapshotsInserted, done.strikesInserted, done.report.duplicatesInFile]).toEqual(['done', 3, 60, 1]);
    const [{ spot }] = await t.ws.stores.warehouse.rows<{ spot: number }>(
      "SELECT spot FROM gex_snapshots WHERE ts = TIMESTAMP '2026-01-14 14:31:00'",
    );
    expect(spot).toBe(7000);
  });

  it('retries a 503 with backoff and then imports', async () => {
    await freshWorkstation();
    const done = await t.ws.imports.queue.waitFor(
      t.ws.imports.queue.enqueue({ url: server.url('/flaky.json'), source: 'test' }).job.id,
    );
    expect(done.state).toBe('done');
    expect(server.hits('/flaky.json')).toBe(2);
  });

  it('a URL that 404s fails with the status named', async () => {
    const job = await expectFailsCleanly('/missing.json', 'IMPORT_HTTP');
    expect(job.error).toMatch(/404/);
  });

  it('a URL that never answers times out', async () => {
    const job = await expectFailsCleanly('/hang.json', 'IMPORT_TIMEOUT', { IMPORT_TIMEOUT_SECONDS: '0.3' });
    expect(job.error).toMatch(/No data/);
  });

  it('a file above IMPORT_MAX_BYTES is refused', async () => {
    const job = await expectFailsCleanly('/big.json', 'IMPORT_TOO_LARGE', { IMPORT_MAX_BYTES: '20000' });
    expect(job.error).toMatch(/IMPORT_MAX_BYTES/);
  });

  it('a file that is not JSON fails', async () => {
    const job = await expectFailsCleanly('/not-json.json', 'IMPORT_NOT_JSON');
    expect(job.error).toMatch(/not JSON/);
  });

  it('a file truncated mid-way fails and nothing of it is merged', async () => {
    const job = await expectFailsCleanly('/truncated.json', 'IMPORT_TRUNCATED');
    expect(job.error).toMatch(/truncated/);
  });

  it('10% invalid records fail above the bad-record ratio, with examples', async () => {
    const job = await expectFailsCleanly('/bad10.json', 'IMPORT_TOO_MANY_INVALID');
    expect(job.recordsInvalid).toBe(2);
    expect(job.recordsValid).toBe(18);
    expect(job.report.invalidExamples?.map((e) => e.index)).toEqual([3, 11]);
    expect(job.report.invalidExamples?.[0]?.message).toMatch(/spot/);
  });

  it('10% invalid records import the valid ones when the ratio allows it', async () => {
    await freshWorkstation({ IMPORT_MAX_BAD_RATIO: '0.2' });
    const done = await t.ws.imports.queue.waitFor(
      t.ws.imports.queue.enqueue({ url: server.url('/bad10.json'), source: 'test' }).job.id,
    );
    expect([done.state, done.recordsValid, done.recordsInvalid, done.snapshotsInserted]).toEqual(['done', 18, 2, 18]);
  });

  it('a record nested deeper than the checks can follow is one invalid record, not a failed job', async () => {
    await freshWorkstation({ IMPORT_MAX_BAD_RATIO: '0.2' });
    const records = snapshots({ count: 10, start: Date.UTC(2026, 1, 2, 14, 31) / 1000 }).map((r) => JSON.stringify(r));
    records[3] = records[3].replace(/}$/, `, "deep": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const file = join(t.dataDir, 'deep.ndjson');
    await writeFile(file, records.join('\n'));
    const done = await t.ws.imports.queue.waitFor(t.ws.imports.queue.enqueue({ path: file }).job.id);
    expect([done.state, done.recordsValid, done.recordsInvalid, done.snapshotsInserted]).toEqual(['done', 9, 1, 9]);
    expect(done.report.invalidExamples?.[0]).toMatchObject({ index: 3, message: expect.stringMatching(/nests too deeply/) });
  });

  it('a broken line of a JSON lines file is one invalid record; the lines after it are imported', async () => {
    await freshWorkstation({ IMPORT_MAX_BAD_RATIO: '0.2' });
    const records = snapshots({ count: 10, start: Date.UTC(2026, 1, 2, 14, 31) / 1000 }).map((r) => JSON.stringify(r));
    records[2] = records[2].slice(0, 40); // a line cut short: unclosed object and string
    const file = join(t.dataDir, 'broken-line.ndjson');
    await writeFile(file, records.join('\n'));
    const done = await t.ws.imports.queue.waitFor(t.ws.imports.queue.enqueue({ path: file }).job.id);
    expect([done.state, done.recordsValid, done.recordsInvalid, done.snapshotsInserted]).toEqual(['done', 9, 1, 9]);
    expect(done.report.invalidExamples?.[0]).toMatchObject({ index: 2, message: expect.stringMatching(/malformed JSON/) });
  });

  it('refuses a path or category that cannot be imported at once, naming it, and queues nothing', async () => {
    await freshWorkstation();
    const file = join(t.dataDir, 'real.json');
    await writeFile(file, JSON.stringify(snapshots({ count: 1 })));
    const cases: [Record<string, string>, RegExp][] = [
      [{ path: join(t.dataDir, 'definitely-missing.json') }, /path ".*definitely-missing\.json" does not exist/],
      [{ path: 'relative/file.json' }, /path "relative\/file\.json" is not absolute/],
      [{ path: t.dataDir }, /is a folder, not a file/],
      [{ path: file, category: '\u0000bad' }, /category .* is not a GEX category/],
    ];
    const before = (await callOrThrow(t.ws.dispatcher, 'imports.list', {})).jobs;
    for (const [input, message] of cases)
      await expect(callOrThrow(t.ws.dispatcher, 'imports.enqueue', input)).rejects.toMatchObject({ status: 400, message });
    expect((await callOrThrow(t.ws.dispatcher, 'imports.list', {})).jobs).toEqual(before);
  });

  it('exports only the tables it lists: never the migration ledger or staging tables', async () => {
    await freshWorkstation();
    const { tables } = await callOrThrow(t.ws.dispatcher, 'exports.tables', {});
    expect(tables).toContain('gex_snapshots');
    for (const table of ['schema_migrations', 'import_staged_gex_snapshots']) {
      expect(tables).not.toContain(table);
      await expect(callOrThrow(t.ws.dispatcher, 'exports.parquet', { table })).rejects.toMatchObject({
        status: 404,
        message: expect.stringContaining(`no exportable table "${table}"`),
      });
      expect(existsSync(join(t.dataDir, 'parquet', table))).toBe(false);
    }
    expect((await callOrThrow(t.ws.dispatcher, 'exports.parquet', { table: 'gex_snapshots' })).rows).toBeGreaterThan(0);
  });

  it('a cancelled job stops and leaves the tables unchanged; retry imports it', async () => {
    await freshWorkstation({ IMPORT_TIMEOUT_SECONDS: '30' });
    const q = t.ws.imports.queue;
    const before = await tableChecksums(t.ws.stores.warehouse);
    const { job } = q.enqueue({ url: server.url('/hang.json'), source: 'test' });
    const deadline = Date.now() + 10_000;
    while (q.get(job.id).state !== 'downloading' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Running here: not retryable while it runs.
    expect(() => q.retry(job.id)).toThrow(/only failed or cancelled/);
    q.cancel(job.id);
    const cancelled = await q.waitFor(job.id);
    expect(cancelled.state).toBe('cancelled');
    expect(await tableChecksums(t.ws.stores.warehouse)).toEqual(before);
  });
});
