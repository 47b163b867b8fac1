/**
 * Imports: queue a GEX history file (URL or local path), follow every job live (state, bytes,
 * records), cancel or retry it, read its report (invalid examples, durations, backup, integrity
 * report); list and create backups; export any table to Parquet.
 */
import { useEffect, useState } from 'react';
import { api } from '../api';
import { useApp } from '../stores/app';
import { type ImportJob, subscribeImports, useImports } from '../stores/imports';

const ACTIVE = ['queued', 'downloading', 'staged', 'validating', 'importing', 'exporting'];

function bytes(n: number | null): string {
  if (n === null) return '?';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

function stateClass(state: string): string {
  if (state === 'done') return 'ok';
  if (state === 'failed') return 'bad';
  if (state === 'cancelled') return 'warn';
  return '';
}

function progressOf(job: ImportJob): number {
  if (job.state === 'done') return 100;
  if (job.state === 'downloading' && job.bytesTotal) return Math.min(100, (job.bytesDone / job.bytesTotal) * 100);
  const steps = ['queued', 'downloading', 'staged', 'validating', 'importing', 'exporting'];
  return (Math.max(0, steps.indexOf(job.state)) / steps.length) * 100;
}

function ImportForm() {
  const [source, setSource] = useState('');
  const [category, setCategory] = useState('full');
  const [message, setMessage] = useState<string | null>(null);
  const selectJob = useImports((s) => s.selectJob);
  const upsertJob = useImports((s) => s.upsertJob);
  return (
    <form
      className="card"
      data-testid="import-form"
      onSubmit={async (e) => {
        e.preventDefault();
        const value = source.trim();
        if (!value) return;
        try {
          const isUrl = /^https?:\/\//i.test(value);
          const { job, created } = await api.call(
            'imports.enqueue',
            isUrl ? { url: value, category } : { path: value, category },
          );
          upsertJob(job);
          selectJob(job.id);
          setMessage(created ? `Queued ${job.id}` : `Already imported or importing as ${job.id}`);
          setSource('');
        } catch (err) {
          setMessage((err as Error).message);
        }
      }}
    >
      <h2>Import GEX history</h2>
      <p className="muted small">
        An http(s) URL or a file path on this machine: a JSON array, JSON lines or an object of gexbot classic snapshots, plain,
        gzip, zstd or zip. A backup is taken first; nothing clean is ever overwritten.
      </p>
      <div style={{ display: 'flex', gap: 8 }}>
        <input
          style={{ flex: 1 }}
          placeholder="https://…/SPX_classic_full_2026-01-05.json.gz  or  /path/to/history.json"
          value={source}
          onChange={(e) => setSource(e.target.value)}
          data-testid="import-source"
        />
        <select value={category} onChange={(e) => setCategory(e.target.value)} data-testid="import-category">
          <option value="full">full</option>
          <option value="zero">zero</option>
          <option value="one">one</option>
        </select>
        <button type="submit" data-testid="import-submit">
          Import
        </button>
      </div>
      {message && (
        <p className="small" data-testid="import-message">
          {message}
        </p>
      )}
    </form>
  );
}

function JobsTable() {
  const jobs = useImports((s) => s.jobs);
  const selectedJobId = useImports((s) => s.selectedJobId);
  const selectJob = useImports((s) => s.selectJob);
  if (jobs.length === 0) return <p className="muted">No imports yet.</p>;
  return (
    <div className="table-scroll">
      <table data-testid="import-jobs">
        <thead>
          <tr>
            <th>Job</th>
            <th>Source</th>
            <th>State</th>
            <th>Progress</th>
            <th>Records</th>
            <th>New rows</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr
              key={j.id}
              data-testid={`import-job-${j.id}`}
              className={j.id === selectedJobId ? 'selected' : undefined}
              onClick={() => selectJob(j.id)}
              style={{ cursor: 'pointer' }}
            >
              <td className="mono small">{j.id}</td>
              <td
                className="small"
                title={j.url ?? j.path ?? ''}
                style={{ maxWidth: 320, overflow: 'hidden', textOverflow: 'ellipsis' }}
              >
                {j.url ?? j.path}
              </td>
              <td className={stateClass(j.state)} data-testid="import-job-state">
                {j.state}
              </td>
              <td style={{ minWidth: 140 }}>
                <div className="progress" data-testid="import-job-progress">
                  <div style={{ width: `${progressOf(j)}%` }} />
                </div>
                <span className="muted small">
                  {bytes(j.bytesDone)}
                  {j.bytesTotal ? ` / ${bytes(j.bytesTotal)}` : ''}
                </span>
              </td>
              <td className="small">
                {j.recordsValid.toLocaleString()} valid
                {j.recordsInvalid > 0 && <span className="bad"> · {j.recordsInvalid.toLocaleString()} invalid</span>}
              </td>
              <td className="small">
                {j.snapshotsInserted.toLocaleString()} snapshots · {j.strikesInserted.toLocaleString()} strikes
              </td>
              <td>
                <JobActions job={j} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function JobActions({ job }: { job: ImportJob }) {
  const upsertJob = useImports((s) => s.upsertJob);
  const setError = useImports((s) => s.setError);
  const act = async (method: 'imports.cancel' | 'imports.retry') => {
    try {
      upsertJob(await api.call(method, { id: job.id }));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  if (ACTIVE.includes(job.state)) {
    return (
      <button
        type="button"
        onClick={(e) => {
          e.stopPropagation();
          void act('imports.cancel');
        }}
        data-testid="import-cancel"
      >
        Cancel
      </button>
    );
  }
  if (job.state === 'failed' || job.state === 'cancelled') {
    return (
      <button
        type="button"
        onClick={(e) => {
          e.stopPropagation();
          void act('imports.retry');
        }}
        data-testid="import-retry"
      >
        Retry
      </button>
    );
  }
  return null;
}

function JobReport() {
  const job = useImports((s) => s.jobs.find((j) => j.id === s.selectedJobId) ?? null);
  const selectReport = useImports((s) => s.selectReport);
  const navigate = useApp((s) => s.navigate);
  if (!job) return null;
  const r = job.report;
  const duration =
    job.startedAt && job.finishedAt ? `${((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000).toFixed(1)} s` : '…';
  return (
    <section className="card" data-testid="import-report">
      <h2>
        Report · <span className="mono">{job.id}</span> <span className={stateClass(job.state)}>{job.state}</span>
      </h2>
      {job.error && (
        <p className="bad" data-testid="import-report-error">
          {job.errorCode}: {job.error}
        </p>
      )}
      <table className="small">
        <tbody>
          <tr>
            <th>File</th>
            <td className="mono">{job.url ?? job.path}</td>
          </tr>
          <tr>
            <th>Content</th>
            <td>
              {bytes(job.bytesTotal ?? job.bytesDone)} · {r.encoding ?? '?'}
              {r.entries ? ` (${r.entries.length} ${r.entries.length === 1 ? 'file' : 'files'})` : ''} · {r.layout ?? '?'} ·
              SHA-256 <span className="mono">{job.contentHash?.slice(0, 16) ?? '—'}</span>
            </td>
          </tr>
          <tr>
            <th>Records</th>
            <td data-testid="import-report-records">
              {job.recordsDone.toLocaleString()} read · {job.recordsValid.toLocaleString()} valid ·{' '}
              {job.recordsInvalid.toLocaleString()} invalid
              {r.duplicatesInFile ? ` · ${r.duplicatesInFile} repeated in the file` : ''}
            </td>
          </tr>
          <tr>
            <th>Merged</th>
            <td data-testid="import-report-merged">
              {job.snapshotsInserted.toLocaleString()} new snapshots · {job.strikesInserted.toLocaleString()} new strike rows ·{' '}
              {job.strikesDuplicate.toLocaleString()} already present
            </td>
          </tr>
          <tr>
            <th>Duration</th>
            <td>
              {duration}
              {r.durationsMs && (
                <span className="muted">
                  {' '}
                  (
                  {Object.entries(r.durationsMs)
                    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
                    .join(', ')}
                  )
                </span>
              )}
            </td>
          </tr>
          <tr>
            <th>Attempts</th>
            <td>
              {job.attempts} · resume marker <span className="mono">{job.step}</span>
            </td>
          </tr>
          <tr>
            <th>Backup</th>
            <td className="mono">{job.backupId ?? '—'}</td>
          </tr>
          {job.duplicateOf && (
            <tr>
              <th>Duplicate</th>
              <td>Same content as {job.duplicateOf}; nothing imported</td>
            </tr>
          )}
          {(r.exportPaths?.length ?? 0) > 0 && (
            <tr>
              <th>Parquet</th>
              <td className="mono small">{r.exportPaths?.join(', ')}</td>
            </tr>
          )}
          {r.integrityReportId && (
            <tr>
              <th>Integrity</th>
              <td>
                <button
                  type="button"
                  className="link-button"
                  data-testid="import-report-integrity"
                  onClick={() => {
                    void selectReport(r.integrityReportId as string);
                    navigate('integrity');
                  }}
                >
                  {r.integrityReportId}
                </button>
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {(r.invalidExamples?.length ?? 0) > 0 && (
        <>
          <h3 className="small">Invalid records (first {r.invalidExamples?.length})</h3>
          <table className="small" data-testid="import-report-invalid">
            <thead>
              <tr>
                <th>#</th>
                <th>Problem</th>
                <th>Record</th>
              </tr>
            </thead>
            <tbody>
              {r.invalidExamples?.map((e) => (
                <tr key={e.index}>
                  <td title={e.entry}>{e.entry ? `${e.index} (${e.entry})` : e.index}</td>
                  <td className="bad">{e.message}</td>
                  <td
                    className="mono"
                    style={{ maxWidth: 420, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}
                  >
                    {e.excerpt}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {(r.notes?.length ?? 0) > 0 && <p className="muted small">{r.notes?.join(' ')}</p>}
    </section>
  );
}

function BackupsCard() {
  const backups = useImports((s) => s.backups);
  const loadBackups = useImports((s) => s.loadBackups);
  const [busy, setBusy] = useState(false);
  const [verdict, setVerdict] = useState<Record<string, string>>({});
  return (
    <section className="card" data-testid="backups">
      <div className="page-header">
        <h2>Backups</h2>
        <button
          type="button"
          disabled={busy}
          data-testid="backup-create"
          onClick={async () => {
            setBusy(true);
            try {
              await api.call('backups.create', {});
              await loadBackups();
            } finally {
              setBusy(false);
            }
          }}
        >
          {busy ? 'Backing up…' : 'Back up now'}
        </button>
      </div>
      <p className="muted small">
        Warehouse and journal, taken before every import, on demand and on BACKUP_SCHEDULE; BACKUP_RETENTION are kept. Restore
        with <span className="mono">marketdesk backup restore &lt;id&gt;</span> while Marketdesk is stopped.
      </p>
      {backups.length === 0 ? (
        <p className="muted">No backups yet.</p>
      ) : (
        <table className="small" data-testid="backups-table">
          <thead>
            <tr>
              <th>Id</th>
              <th>Taken</th>
              <th>Reason</th>
              <th>Size</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {backups.map((b) => (
              <tr key={b.id}>
                <td className="mono">{b.id}</td>
                <td>{new Date(b.createdAt).toLocaleString()}</td>
                <td>{b.reason}</td>
                <td>{bytes(b.bytes)}</td>
                <td>
                  <button
                    type="button"
                    data-testid={`backup-verify-${b.id}`}
                    onClick={async () => {
                      const r = await api.call('backups.verify', { id: b.id });
                      setVerdict((v) => ({ ...v, [b.id]: r.ok ? 'verified' : r.problems.join('; ') }));
                    }}
                  >
                    Verify
                  </button>{' '}
                  <span className={verdict[b.id] === 'verified' ? 'ok' : 'bad'}>{verdict[b.id]}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ExportCard() {
  const [tables, setTables] = useState<string[]>([]);
  const [table, setTable] = useState('gex_strikes');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [result, setResult] = useState<string | null>(null);
  useEffect(() => {
    void api.call('exports.tables', {}).then((r) => setTables(r.tables));
  }, []);
  return (
    <form
      className="card"
      data-testid="export-form"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const r = await api.call('exports.parquet', { table, ...(from ? { from } : {}), ...(to ? { to } : {}) });
          setResult(`${r.rows.toLocaleString()} rows in ${r.partitions} partitions → ${r.dir}`);
        } catch (err) {
          setResult((err as Error).message);
        }
      }}
    >
      <h2>Export to Parquet</h2>
      <p className="muted small">Hive layout (ticker=…/date=…) under the data folder; whole days are rewritten.</p>
      <div style={{ display: 'flex', gap: 8, flexWrap: 'wrap' }}>
        <select value={table} onChange={(e) => setTable(e.target.value)} data-testid="export-table">
          {(tables.length ? tables : [table]).map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="export-from" />
        <input type="date" value={to} onChange={(e) => setTo(e.target.value)} data-testid="export-to" />
        <button type="submit" data-testid="export-submit">
          Export
        </button>
      </div>
      {result && (
        <p className="small mono" data-testid="export-result">
          {result}
        </p>
      )}
    </form>
  );
}

export default function ImportsPage() {
  const error = useImports((s) => s.error);
  useEffect(() => subscribeImports(), []);
  return (
    <section className="page" data-testid="page-imports">
      <h1>Imports</h1>
      {error && (
        <p className="bad" data-testid="imports-error">
          {error}
        </p>
      )}
      <ImportForm />
      <section className="card">
        <h2>Jobs</h2>
        <JobsTable />
      </section>
      <JobReport />
      <BackupsCard />
      <ExportCard />
    </section>
  );
}
