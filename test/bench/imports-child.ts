/**
 * Child process of imports.bench.ts, so peak memory (VmHWM) is this import's alone.
 *   imports-child.ts import <file>   → the full Marketdesk import (every record validated)
 *   imports-child.ts ceiling <file>  → DuckDB alone: read_json into a table, no validation
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { removeDir, tempDir } from '../support/temp';
import { openTestWorkstation } from '../support/workstation';

function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

const [mode, file] = process.argv.slice(2) as [string, string];
const dir = tempDir('marketdesk-bench-imports-');
try {
  if (mode === 'ceiling') {
    const instance = await DuckDBInstance.create(join(dir, 'ceiling.duckdb'));
    const conn = await instance.connect();
    const t0 = performance.now();
    await conn.run(`CREATE TABLE raw AS SELECT * FROM read_json('${file}')`);
    const ms = performance.now() - t0;
    const reader = await conn.runAndReadAll('SELECT sum(len(strikes))::BIGINT AS n FROM raw');
    const rows = Number((reader.getRowObjectsJS()[0] as { n: bigint }).n);
    conn.closeSync();
    instance.closeSync();
    process.stdout.write(`${JSON.stringify({ ms, rows, peak: peakRssBytes() })}\n`);
  } else {
    const t = await openTestWorkstation(
      { WEBHOOK_PORT: '0', BACKUP_SCHEDULE: '', IMPORT_EXPORT_PARQUET: 'false' },
      { dataDir: join(dir, 'data') },
    );
    const t0 = performance.now();
    const job = await t.ws.imports.queue.waitFor(t.ws.imports.queue.enqueue({ path: file, source: 'bench' }).job.id, 600_000);
    const total = performance.now() - t0;
    if (job.state !== 'done') throw new Error(`import ${job.state}: ${job.error}`);
    const d = job.report.durationsMs ?? {};
    // The import proper: hash the file, validate every record, stage, merge (not the backup or the integrity check).
    const ms = (d.download ?? 0) + (d.validate ?? 0) + (d.merge ?? 0);
    await t.ws.stop();
    process.stdout.write(
      `${JSON.stringify({ ms, total, rows: job.strikesInserted, records: job.recordsValid, durations: d, peak: peakRssBytes() })}\n`,
    );
  }
} finally {
  removeDir(dir);
}
