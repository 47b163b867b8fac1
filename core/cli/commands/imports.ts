/**
 * `marketdesk import …`, `marketdesk backup …`, `marketdesk export …`, `marketdesk integrity check`.
 * They open the stores directly, so they run while the app is stopped (the stores are locked by a
 * running app: use the UI or the control API then). Restore only ever runs on a stopped app.
 */
import { resolve } from 'node:path';
import { exportTimeSchema } from '../../api/imports';
import { loadSettings } from '../../config';
import { createBackup, exportTableToParquet, type ImportJob, listBackups, restoreBackup, verifyBackup } from '../../imports';
import { ALL_MIGRATIONS } from '../../migrations';
import { openStores } from '../../storage';
import { type CliCommand, parseCommandArgs, UsageError } from '../command';
import { openWorkstation } from '../runtime';

const out = (s: string) => process.stdout.write(`${s}\n`);

function dataDirOverride(dir: string | undefined): Record<string, unknown> {
  return dir ? { DATA_DIR: dir } : {};
}

function describeJob(j: ImportJob): string {
  const parts = [
    `${j.id}  ${j.state.padEnd(10)}`,
    `${j.recordsValid} valid / ${j.recordsInvalid} invalid`,
    `${j.snapshotsInserted} snapshots, ${j.strikesInserted} strike rows new`,
    j.url ?? j.path ?? '',
  ];
  return parts.join('  ');
}

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Import GEX history from a URL or file; list and retry import jobs',
  usage: `marketdesk import <url-or-path> [--category full|zero|one] [--data-dir DIR]
       marketdesk import list [--data-dir DIR]
       marketdesk import retry <job-id> [--data-dir DIR]

  Runs the job to the end and prints its report; exits 1 when the job fails.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { category: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false } },
      true,
    );
    const [first, second] = positionals;
    if (!first) throw new UsageError('missing <url-or-path> (or "list" / "retry <job-id>")');
    const ws = await openWorkstation({ mode: 'cli', overrides: dataDirOverride(values['data-dir']) });
    const queue = ws.imports.queue;
    try {
      if (first === 'list') {
        for (const j of queue.list(50)) out(describeJob(j));
        return 0;
      }
      let jobId: string;
      if (first === 'retry') {
        if (!second) throw new UsageError('missing <job-id> after retry');
        jobId = queue.retry(second).id;
      } else {
        const isUrl = /^https?:\/\//i.test(first);
        jobId = queue.enqueue(
          isUrl
            ? { url: first, source: 'cli', category: values.category }
            : { path: resolve(first), source: 'cli', category: values.category },
        ).job.id;
      }
      let last = '';
      const off = ws.events.subscribe((name, payload) => {
        const j = payload as ImportJob;
        if (name !== 'imports.job' || j.id !== jobId) return;
        const line = `${j.state}: ${j.bytesDone} bytes, ${j.recordsDone} records (${j.recordsInvalid} invalid)`;
        if (line !== last) process.stderr.write(`${line}\n`);
        last = line;
      });
      await queue.start();
      const job = await queue.waitFor(jobId, 24 * 3_600_000);
      off();
      await queue.stop();
      if (values.json) out(JSON.stringify(job, null, 2));
      else {
        out(describeJob(job));
        if (job.duplicateOf) out(`Same content as ${job.duplicateOf}; nothing imported.`);
        if (job.report.entries) out(`Zip archive: ${job.report.entries.length} files read`);
        for (const e of job.report.invalidExamples ?? [])
          out(`  invalid record #${e.index}${e.entry ? ` (${e.entry})` : ''}: ${e.message}`);
        if (job.backupId) out(`Backup taken before the import: ${job.backupId}`);
        if (job.report.integrityReportId) out(`Integrity report: ${job.report.integrityReportId}`);
        if (job.error) out(`Error (${job.errorCode}): ${job.error}`);
      }
      return job.state === 'done' ? 0 : 1;
    } finally {
      await ws.stop();
    }
  },
};

export const backupCommand: CliCommand = {
  name: 'backup',
  summary: 'Create, list, verify or restore backups of the warehouse and journal',
  usage: `marketdesk backup create|list [--data-dir DIR]
       marketdesk backup verify <id> [--data-dir DIR]
       marketdesk backup restore <id> [--data-dir DIR]

  restore runs only while Marketdesk is stopped; it first backs up the state it replaces.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { 'data-dir': { type: 'string' } }, true);
    const [action, id] = positionals;
    const settings = loadSettings({ overrides: dataDirOverride(values['data-dir']) }).settings;
    const dataDir = settings.DATA_DIR;
    switch (action) {
      case 'list': {
        const all = await listBackups(dataDir);
        if (all.length === 0) out(`No backups in ${dataDir}/backups`);
        for (const b of all) out(`${b.id}  ${b.createdAt}  ${(b.bytes / 1e6).toFixed(1)} MB  ${b.reason}`);
        return 0;
      }
      case 'create': {
        const stores = await openStores(dataDir, ALL_MIGRATIONS);
        try {
          const b = await createBackup(stores, dataDir, { reason: 'cli', retention: settings.BACKUP_RETENTION });
          out(`Created ${b.id} (${(b.bytes / 1e6).toFixed(1)} MB) in ${dataDir}/backups/${b.id}`);
          return 0;
        } finally {
          await stores.close();
        }
      }
      case 'verify': {
        if (!id) throw new UsageError('missing <id> after verify (see "marketdesk backup list")');
        const r = await verifyBackup(dataDir, id);
        out(r.ok ? `${id}: OK (checksums match, both copies open, row counts match)` : `${id}: FAILED`);
        for (const p of r.problems) out(`  ${p}`);
        return r.ok ? 0 : 1;
      }
      case 'restore': {
        if (!id) throw new UsageError('missing <id> after restore (see "marketdesk backup list")');
        const r = await restoreBackup(dataDir, id, () => openStores(dataDir, ALL_MIGRATIONS), {
          retention: settings.BACKUP_RETENTION,
        });
        out(`Restored ${r.restored}. The state it replaced is kept as ${r.safetyBackup}.`);
        return 0;
      }
      default:
        throw new UsageError(`expected create, list, verify <id> or restore <id>, got ${action ? `"${action}"` : 'nothing'}`);
    }
  },
};

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Export a warehouse table to Parquet (hive layout, partitioned by ticker and date)',
  usage: `marketdesk export <table> [--from ISO] [--to ISO] [--ticker T]... [--data-dir DIR]

  Writes <DATA_DIR>/parquet/<table>/ticker=…/date=…/*.parquet, replacing whole partitions.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        from: { type: 'string' },
        to: { type: 'string' },
        ticker: { type: 'string', multiple: true },
        'data-dir': { type: 'string' },
      },
      true,
    );
    const table = positionals[0];
    if (!table) throw new UsageError('missing <table> (e.g. gex_snapshots, gex_strikes, bars)');
    const bound = (flag: 'from' | 'to') => {
      const v = values[flag];
      if (v === undefined) return undefined;
      const parsed = exportTimeSchema.safeParse(v);
      if (!parsed.success)
        throw new UsageError(`--${flag} "${v}" is not a date such as 2026-01-05 (or an ISO time such as 2026-01-05T14:30:00Z)`);
      return parsed.data;
    };
    const settings = loadSettings({ overrides: dataDirOverride(values['data-dir']) }).settings;
    const stores = await openStores(settings.DATA_DIR, ALL_MIGRATIONS);
    try {
      const r = await exportTableToParquet(stores.warehouse, settings.DATA_DIR, {
        table,
        from: bound('from'),
        to: bound('to'),
        tickers: values.ticker,
      });
      out(`${r.rows} rows of ${r.table} in ${r.partitions} partitions (${r.files} files) → ${r.dir}`);
      return 0;
    } finally {
      await stores.close();
    }
  },
};

export const integrityCommand: CliCommand = {
  name: 'integrity',
  summary: 'Check the warehouse: duplicates, gaps, anomalies, spot checks (exit 1 when a check fails)',
  usage: `marketdesk integrity check [--source gex|bars|option_trades|alerts]... [--json] [--data-dir DIR]`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { source: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, 'data-dir': { type: 'string' } },
      true,
    );
    if (positionals[0] !== 'check')
      throw new UsageError(`expected "check", got ${positionals[0] ? `"${positionals[0]}"` : 'nothing'}`);
    const sources = (values.source ?? [])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    const known = ['gex', 'bars', 'option_trades', 'alerts'];
    const bad = sources.find((s) => !known.includes(s));
    if (bad) throw new UsageError(`--source "${bad}" is not one of ${known.join(', ')}`);
    const ws = await openWorkstation({ mode: 'cli', overrides: dataDirOverride(values['data-dir']) });
    try {
      const report = await ws.imports.integrity.run({ sources, trigger: 'cli' });
      if (values.json) out(JSON.stringify(report, null, 2));
      else {
        out(
          `Integrity ${report.id}: ${report.status.toUpperCase()} (${report.counts.pass} pass, ${report.counts.warn} warn, ${report.counts.fail} fail, ${report.counts.skipped} skipped)`,
        );
        for (const f of report.findings) {
          out(`  [${f.status.padEnd(7)}] ${f.source} / ${f.check}: ${f.message}`);
          if (f.status === 'fail' || f.status === 'warn') for (const r of f.rows.slice(0, 5)) out(`      ${JSON.stringify(r)}`);
        }
      }
      return report.status === 'fail' ? 1 : 0;
    } finally {
      await ws.stop();
    }
  },
};
