/**
 * Integrity: run the checks now (per source), the stored reports, and for one report every
 * finding with its offending rows (the rows themselves, so they can be found in the warehouse).
 */
import { useEffect, useState } from 'react';
import { api } from '../api';
import { rowActivation } from '../components/rowActivation';
import { subscribeImports, useImports } from '../stores/imports';

const SOURCES = ['gex', 'bars', 'option_trades', 'alerts'] as const;

const cls = (status: string) => (status === 'pass' ? 'ok' : status === 'fail' ? 'bad' : status === 'warn' ? 'warn' : 'muted');

function RunCard() {
  const [sources, setSources] = useState<string[]>([...SOURCES]);
  const [busy, setBusy] = useState(false);
  const selectReport = useImports((s) => s.selectReport);
  const loadReports = useImports((s) => s.loadReports);
  return (
    <section className="card" data-testid="integrity-run">
      <h2>Run checks</h2>
      <p className="muted small">
        Duplicates, timestamp order, gaps against the trading calendar (GEX every minute in market hours), spot checks against the
        source, anomalies (jumps, zero or negative values, strikes far from spot). Also runs after every import and on
        INTEGRITY_SCHEDULE.
      </p>
      <div style={{ display: 'flex', gap: 12, alignItems: 'center', flexWrap: 'wrap' }}>
        {SOURCES.map((s) => (
          <label key={s}>
            <input
              type="checkbox"
              checked={sources.includes(s)}
              data-testid={`integrity-source-${s}`}
              onChange={(e) => setSources((cur) => (e.target.checked ? [...cur, s] : cur.filter((x) => x !== s)))}
            />{' '}
            {s}
          </label>
        ))}
        <button
          type="button"
          disabled={busy || sources.length === 0}
          data-testid="integrity-run-button"
          onClick={async () => {
            setBusy(true);
            try {
              const report = await api.call('integrity.run', { sources: sources as (typeof SOURCES)[number][] });
              await loadReports();
              await selectReport(report.id);
            } finally {
              setBusy(false);
            }
          }}
        >
          {busy ? 'Checking…' : 'Check now'}
        </button>
      </div>
    </section>
  );
}

function ReportsTable() {
  const reports = useImports((s) => s.reports);
  const selected = useImports((s) => s.selectedReportId);
  const selectReport = useImports((s) => s.selectReport);
  if (reports.length === 0) return <p className="muted">No integrity reports yet.</p>;
  return (
    <table data-testid="integrity-reports">
      <thead>
        <tr>
          <th>Report</th>
          <th>When</th>
          <th>Trigger</th>
          <th>Sources</th>
          <th>Status</th>
          <th>Checks</th>
        </tr>
      </thead>
      <tbody>
        {reports.map((r) => (
          <tr
            key={r.id}
            {...rowActivation(() => void selectReport(r.id))}
            className={r.id === selected ? 'selected' : undefined}
            style={{ cursor: 'pointer' }}
            data-testid={`integrity-report-${r.id}`}
          >
            <td className="mono small">{r.id}</td>
            <td>{new Date(r.startedAt).toLocaleString()}</td>
            <td>{r.trigger}</td>
            <td>{r.sources.join(', ')}</td>
            <td className={cls(r.status)}>{r.status.toUpperCase()}</td>
            <td className="small">
              {r.counts.pass} pass · {r.counts.warn} warn · {r.counts.fail} fail · {r.counts.skipped} skipped
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Findings() {
  const report = useImports((s) => s.report);
  const [open, setOpen] = useState<number | null>(null);
  if (!report) return null;
  return (
    <section className="card" data-testid="integrity-findings">
      <h2>
        {report.id} <span className={cls(report.status)}>{report.status.toUpperCase()}</span>{' '}
        <span className="muted small">
          {report.trigger} · {report.durationMs} ms
        </span>
      </h2>
      <table>
        <thead>
          <tr>
            <th>Source</th>
            <th>Check</th>
            <th>Status</th>
            <th>Count</th>
            <th>Finding</th>
          </tr>
        </thead>
        <tbody>
          {report.findings.map((f, i) => (
            <FindingRow
              key={`${f.source}-${f.check}`}
              index={i}
              open={open === i}
              toggle={() => setOpen(open === i ? null : i)}
              finding={f}
            />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function FindingRow({
  finding: f,
  open,
  toggle,
  index,
}: {
  finding: NonNullable<ReturnType<typeof useImports.getState>['report']>['findings'][number];
  open: boolean;
  toggle: () => void;
  index: number;
}) {
  const columns = f.rows.length > 0 ? Object.keys(f.rows[0] as object) : [];
  return (
    <>
      <tr
        data-testid={`integrity-finding-${index}`}
        {...(f.rows.length ? rowActivation(toggle) : {})}
        style={{ cursor: f.rows.length ? 'pointer' : 'default' }}
      >
        <td>{f.source}</td>
        <td>{f.check}</td>
        <td className={cls(f.status)}>{f.status}</td>
        <td>{f.count}</td>
        <td className="small">
          {f.message}
          {f.rows.length > 0 && (
            <span className="muted">
              {' '}
              — {open ? 'hide' : 'show'} rows{f.table ? ` of ${f.table}` : ''}
            </span>
          )}
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={5}>
            <table className="small mono" data-testid="integrity-rows">
              <thead>
                <tr>
                  {columns.map((c) => (
                    <th key={c}>{c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {f.rows.map((r, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id of their own
                  <tr key={i}>
                    {columns.map((c) => (
                      <td key={c}>{String((r as Record<string, unknown>)[c] ?? '')}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
            {f.count > f.rows.length && (
              <p className="muted small">
                First {f.rows.length} of {f.count}.
              </p>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

export default function IntegrityPage() {
  useEffect(() => subscribeImports(), []);
  return (
    <section className="page" data-testid="page-integrity">
      <h1>Integrity</h1>
      <RunCard />
      <section className="card">
        <h2>Reports</h2>
        <ReportsTable />
      </section>
      <Findings />
    </section>
  );
}
