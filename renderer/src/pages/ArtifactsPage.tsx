/**
 * Artifacts: every run's files by run, kind and date; preview CSV/Parquet as a table (read by DuckDB),
 * JSON highlighted, large files first then "Load all"; copy the path or save a copy to a folder.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api } from '../api';
import { copyText } from '../components/clipboard';
import { rowActivation } from '../components/rowActivation';
import { ArtifactPreview } from '../components/runs/ArtifactPreview';
import type { Artifact } from '../stores/runs';
import '../components/runs/runs.css';

type Kind = '' | 'csv' | 'json' | 'parquet';

function dirOf(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i > 0 ? path.slice(0, i) : path;
}

export default function ArtifactsPage() {
  const [runId, setRunId] = useState('');
  const [kind, setKind] = useState<Kind>('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [artifacts, setArtifacts] = useState<Artifact[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Artifact | null>(null);
  const [saveDir, setSaveDir] = useState('');
  const [saveResult, setSaveResult] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const res = await api.call('artifacts.list', {
        runId: runId.trim() || undefined,
        kind: kind || undefined,
        // The picker's days are the trader's days: their bounds in local time, sent as UTC instants.
        since: since ? localDayBound(since, 'start') : undefined,
        until: until ? localDayBound(until, 'end') : undefined,
        limit: 1000,
      });
      setArtifacts(res.artifacts);
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  }, [runId, kind, since, until]);

  useEffect(() => {
    void load();
    const off = api.on('runs.updated', (e) => {
      if (!e.task && e.status !== 'running') void load();
    });
    return off;
  }, [load]);

  const byRun = useMemo(() => {
    const groups = new Map<string, Artifact[]>();
    for (const a of artifacts) groups.set(a.runId, [...(groups.get(a.runId) ?? []), a]);
    return [...groups.entries()];
  }, [artifacts]);

  return (
    <section className="page artifacts-page" data-testid="page-artifacts">
      <div className="page-header">
        <h1>Artifacts</h1>
        <span className="muted">{artifacts.length} files</span>
      </div>
      <div className="filters">
        <input
          placeholder="Run id"
          value={runId}
          onChange={(e) => setRunId(e.target.value)}
          data-testid="artifacts-run"
          className="mono"
        />
        <select value={kind} onChange={(e) => setKind(e.target.value as Kind)} data-testid="artifacts-kind" aria-label="Kind">
          <option value="">all kinds</option>
          <option value="csv">CSV</option>
          <option value="json">JSON</option>
          <option value="parquet">Parquet</option>
        </select>
        <label className="muted small">
          from <input type="date" value={since} onChange={(e) => setSince(e.target.value)} data-testid="artifacts-since" />
        </label>
        <label className="muted small">
          to <input type="date" value={until} onChange={(e) => setUntil(e.target.value)} data-testid="artifacts-until" />
        </label>
      </div>
      {error && <p className="bad">{error}</p>}
      <div className="layout">
        <div className="card table-scroll">
          <table data-testid="artifacts-table">
            <thead>
              <tr>
                <th>name</th>
                <th>kind</th>
                <th>size</th>
                <th>created</th>
              </tr>
            </thead>
            {byRun.map(([run, items]) => (
              <tbody key={run}>
                <tr>
                  <th colSpan={4} className="mono">
                    run {run}
                  </th>
                </tr>
                {items.map((a) => (
                  <tr
                    key={a.id}
                    className={`clickable ${selected?.id === a.id ? 'selected' : ''}`}
                    {...rowActivation(() => {
                      setSelected(a);
                      setSaveResult(null);
                    })}
                    data-testid="artifact-row"
                    data-name={a.name}
                  >
                    <td className="mono">
                      {a.name} {a.status === 'spooled' && <span className="badge warn">spooled</span>}
                    </td>
                    <td>{a.kind}</td>
                    <td>
                      {a.size < 1024 * 1024 ? `${(a.size / 1024).toFixed(1)} KB` : `${(a.size / 1024 / 1024).toFixed(1)} MB`}
                    </td>
                    <td>{new Date(a.createdAt).toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            ))}
          </table>
          {artifacts.length === 0 && <p className="muted">No artifacts match.</p>}
        </div>
        <div className="card">
          {!selected && <p className="muted">Select an artifact to preview it.</p>}
          {selected && (
            <>
              <h2>
                <span className="mono">{selected.name}</span> <span className="muted">run {selected.runId}</span>
              </h2>
              <p className="small">
                <span className="mono path" data-testid="artifact-path">
                  {selected.path}
                </span>
                <br />
                <span className="muted mono">sha256 {selected.checksum}</span>
              </p>
              <div className="actions">
                <button type="button" onClick={() => void copyText(dirOf(selected.path))} data-testid="artifact-copy-folder">
                  Copy folder path
                </button>
                <input
                  placeholder="/folder/to/save/into"
                  value={saveDir}
                  onChange={(e) => setSaveDir(e.target.value)}
                  data-testid="artifact-save-dir"
                />
                <button
                  type="button"
                  disabled={!saveDir.trim()}
                  data-testid="artifact-save"
                  onClick={() =>
                    void api
                      .call('artifacts.saveCopy', { id: selected.id, directory: saveDir.trim() })
                      .then((r) => setSaveResult(`Saved to ${r.path}`))
                      .catch((err: Error) => setSaveResult(err.message))
                  }
                >
                  Save a copy
                </button>
              </div>
              {saveResult && <p className="small">{saveResult}</p>}
              <ArtifactPreview id={selected.id} />
            </>
          )}
        </div>
      </div>
    </section>
  );
}

/** The first or last millisecond of a YYYY-MM-DD day in this browser's time zone, as an ISO instant. */
function localDayBound(day: string, edge: 'start' | 'end'): string {
  // A date-time without an offset is local time (a date alone would be UTC).
  return new Date(`${day}T${edge === 'start' ? '00:00:00.000' : '23:59:59.999'}`).toISOString();
}
