/** One run: header and actions, task timeline, attempts with one log tab each, params, tags, metrics chart, artifacts. */
import { useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatMetric } from '../../../../core/api/browser';
import { type RunDetail as Detail, useRuns } from '../../stores/runs';
import { ArtifactPreview } from './ArtifactPreview';
import { JsonView } from './JsonView';
import { LogViewer } from './LogViewer';

export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`status status-${status}`} data-testid="run-status">
      {status}
    </span>
  );
}

function Timeline({ run }: { run: Detail }) {
  const start = Date.parse(run.startedAt);
  const end = run.endedAt
    ? Date.parse(run.endedAt)
    : Math.max(start + 1, ...run.attempts.map((a) => Date.parse(a.endedAt ?? a.startedAt)));
  const span = Math.max(1, end - start);
  return (
    <div className="timeline" data-testid="task-timeline">
      {run.attempts.map((a) => {
        // A skipped task never ran (an earlier one failed, or the run was cancelled): no bar, no duration.
        if (a.status === 'skipped')
          return (
            <div key={`${a.task}-${a.attempt}`} className="timeline-row" data-task={a.task} data-state="skipped">
              <span className="timeline-label">{a.task}</span>
              <div className="timeline-track" title={`${a.task}: skipped, never ran (the run ended ${run.status} before it)`}>
                <span className="timeline-skipped" data-testid="timeline-skipped">
                  skipped
                </span>
              </div>
              <span className="timeline-duration muted">—</span>
            </div>
          );
        const s = Date.parse(a.startedAt) - start;
        const e = (a.endedAt ? Date.parse(a.endedAt) : end) - start;
        return (
          <div key={`${a.task}-${a.attempt}`} className="timeline-row" data-task={a.task} data-state={a.status}>
            <span className="timeline-label">
              {a.task}
              {a.attempt > 1 ? ` #${a.attempt}` : ''}
            </span>
            <div className="timeline-track">
              <div
                className={`timeline-bar state-${a.status}`}
                style={{ left: `${(s / span) * 100}%`, width: `${Math.max(0.8, ((e - s) / span) * 100)}%` }}
                title={`${a.task} attempt ${a.attempt}: ${a.status}, ${formatDuration(a.durationMs)}${a.error ? ` — ${a.error}` : ''}`}
              />
            </div>
            <span className="timeline-duration muted">{formatDuration(a.durationMs)}</span>
          </div>
        );
      })}
    </div>
  );
}

/** Tasks in the order the run went through them (its attempts are ordered by start); unknown ones last. */
function pipelineOrder(run: Detail): (task: string) => number {
  const order = [...new Set(run.attempts.map((a) => a.task))];
  return (task) => {
    const i = order.indexOf(task);
    return i < 0 ? order.length : i;
  };
}

function MetricsChart({ run }: { run: Detail }) {
  const rank = pipelineOrder(run);
  // Metrics come sorted by key; the durations read in the pipeline's order instead.
  const durations = Object.entries(run.latestMetrics)
    .filter(([k]) => k.startsWith('duration_ms.'))
    .map(([k, v]) => ({ name: k.slice('duration_ms.'.length), value: v }))
    .sort((a, b) => rank(a.name) - rank(b.name));
  const rows = Object.entries(run.latestMetrics)
    .filter(([k]) => k.startsWith('rows.'))
    .map(([k, v]) => ({ name: k.slice('rows.'.length), value: v }));
  const other = Object.entries(run.latestMetrics).filter(([k]) => !k.startsWith('duration_ms.') && !k.startsWith('rows.'));
  return (
    <div className="metrics" data-testid="run-metrics">
      <table className="kv">
        <tbody>
          {other.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td className="mono" data-testid={`metric-${k}`}>
                {formatMetric(k, v)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="charts">
        {durations.length > 0 && (
          <figure data-testid="duration-chart">
            <figcaption className="muted">Duration per task (ms)</figcaption>
            <ResponsiveContainer width="100%" height={160}>
              <BarChart data={durations}>
                <CartesianGrid strokeDasharray="3 3" stroke="#2a3543" />
                <XAxis dataKey="name" stroke="#8a96a8" fontSize={11} interval={0} />
                <YAxis stroke="#8a96a8" fontSize={11} />
                <Tooltip contentStyle={{ background: '#161d26', border: '1px solid #2a3543' }} />
                <Bar dataKey="value" fill="#4c9aff" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </figure>
        )}
        {rows.length > 0 && (
          <figure>
            <figcaption className="muted">Rows per symbol</figcaption>
            <ResponsiveContainer width="100%" height={160}>
              <BarChart data={rows}>
                <CartesianGrid strokeDasharray="3 3" stroke="#2a3543" />
                <XAxis dataKey="name" stroke="#8a96a8" fontSize={11} />
                <YAxis stroke="#8a96a8" fontSize={11} />
                <Tooltip contentStyle={{ background: '#161d26', border: '1px solid #2a3543' }} />
                <Bar dataKey="value" fill="#3fb950" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </figure>
        )}
      </div>
    </div>
  );
}

export function RunDetail() {
  const run = useRuns((s) => s.detail);
  const logs = useRuns((s) => s.logs);
  const artifacts = useRuns((s) => s.artifacts);
  const cancel = useRuns((s) => s.cancel);
  const rerunDebug = useRuns((s) => s.rerunDebug);
  const [tab, setTab] = useState('all');
  const [artifactId, setArtifactId] = useState<number | null>(null);

  // A skipped task has no attempt (and no log): it gets no tab.
  const tabs = useMemo(
    () => (run ? run.attempts.filter((a) => a.status !== 'skipped').map((a) => ({ id: `${a.task}#${a.attempt}`, ...a })) : []),
    [run],
  );
  const tabLogs = useMemo(() => {
    if (tab === 'all') return logs;
    const [task, attempt] = tab.split('#');
    return logs.filter((l) => l.task === task && String(l.attempt) === attempt);
  }, [logs, tab]);

  if (!run) return <p className="muted">Loading run…</p>;
  const symbols = Array.isArray(run.params.symbols) ? (run.params.symbols as string[]).join(', ') : '';
  return (
    <div className="run-detail" data-testid="run-detail" data-run-id={run.id}>
      <div className="card-head">
        <h2>
          Run <span className="mono">{run.id}</span> <StatusBadge status={run.status} />
          {run.tags.debug_mode === 'true' && <span className="badge badge-debug">DEBUG MODE</span>}
          {run.replayOf && <span className="badge">replay of {run.replayOf}</span>}
        </h2>
        <div className="actions">
          {run.status === 'running' && (
            <button type="button" className="danger" onClick={() => void cancel(run.id)} data-testid="cancel-run">
              Cancel
            </button>
          )}
          <button
            type="button"
            onClick={() => void rerunDebug(run.id)}
            data-testid="rerun-debug"
            disabled={run.status === 'running'}
          >
            Re-run in debug mode
          </button>
        </div>
      </div>
      <p className="muted">
        {run.trigger} · {symbols} · started {new Date(run.startedAt).toLocaleString()} · {formatDuration(run.durationMs)}
      </p>
      {run.error && (
        // A cancel is the trader's own doing and an interruption the app's: neither is the run's error.
        <p className={run.status === 'failed' ? 'bad' : 'muted'} data-testid="run-error">
          {run.error}
        </p>
      )}

      <h3>Tasks</h3>
      <Timeline run={run} />

      <div className="detail-grid">
        <div>
          <h3>Params</h3>
          <JsonView value={run.params} testId="run-params" />
        </div>
        <div>
          <h3>Tags</h3>
          <table className="kv" data-testid="run-tags">
            <tbody>
              {Object.entries(run.tags).map(([k, v]) => (
                <tr key={k}>
                  <th>{k}</th>
                  <td className="mono">{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>

      <h3>Metrics</h3>
      <MetricsChart run={run} />

      <h3>Logs</h3>
      <div className="tabs" role="tablist" data-testid="attempt-tabs">
        <button
          type="button"
          className={`tab ${tab === 'all' ? 'active' : ''}`}
          onClick={() => setTab('all')}
          data-testid="attempt-tab-all"
        >
          All
        </button>
        {tabs.map((t) => (
          <button
            type="button"
            key={t.id}
            className={`tab state-border-${t.status} ${tab === t.id ? 'active' : ''}`}
            onClick={() => setTab(t.id)}
            data-testid={`attempt-tab-${t.task}-${t.attempt}`}
            title={t.error ?? t.status}
          >
            {t.task} #{t.attempt}
          </button>
        ))}
      </div>
      <LogViewer entries={tabLogs} />

      <h3>Artifacts</h3>
      {artifacts.length === 0 && <p className="muted">No artifacts.</p>}
      <table data-testid="run-artifacts">
        <tbody>
          {artifacts.map((a) => (
            <tr key={a.id} className={artifactId === a.id ? 'selected' : undefined}>
              <td className="mono">{a.name}</td>
              <td>{a.kind}</td>
              <td>{(a.size / 1024).toFixed(1)} KB</td>
              <td>{a.status === 'spooled' ? <span className="warn">spooled</span> : 'stored'}</td>
              <td className="mono muted truncate" title={a.path}>
                {a.checksum.slice(0, 12)}…
              </td>
              <td>
                <button
                  type="button"
                  onClick={() => setArtifactId(artifactId === a.id ? null : a.id)}
                  data-testid={`preview-${a.name}`}
                >
                  {artifactId === a.id ? 'Hide' : 'Preview'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {artifactId !== null && <ArtifactPreview id={artifactId} />}
    </div>
  );
}
