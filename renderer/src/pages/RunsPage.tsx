/**
 * Runs: trigger now (or in debug mode), the schedule, the searchable history (live), a runs × tasks
 * grid coloured by state, run detail with timeline, attempts, logs, metrics and artifacts, and compare.
 */
import { useEffect, useState } from 'react';
import { api } from '../api';
import { rowActivation } from '../components/rowActivation';
import { CompareView } from '../components/runs/CompareView';
import { formatDuration, RunDetail, StatusBadge } from '../components/runs/RunDetail';
import { SchedulerCard } from '../components/runs/SchedulerCard';
import { useApp } from '../stores/app';
import { type RunSummary, subscribeRuns, useRuns } from '../stores/runs';
import '../components/runs/runs.css';

const TASKS = ['preflight', 'extract', 'validate', 'transform', 'record'];
/** The grid's states, as the legend names them (`none`: no record of the task, e.g. not reached yet). */
const STATES: { state: string; label: string; title: string }[] = [
  { state: 'succeeded', label: 'succeeded', title: 'The task succeeded' },
  { state: 'failed', label: 'failed', title: 'The task failed (after its retries)' },
  { state: 'running', label: 'running', title: 'The task is running' },
  { state: 'cancelled', label: 'cancelled', title: 'Cancelled by the user while the task ran' },
  { state: 'interrupted', label: 'interrupted', title: 'The app stopped while the task ran' },
  { state: 'skipped', label: 'skipped', title: 'Never ran: an earlier task failed or the run was cancelled' },
  { state: 'none', label: 'not recorded', title: 'No record of the task (not reached yet, or the run was interrupted)' },
];
const EXAMPLES = ['params.symbols = "TSLA"', 'metrics.rows > 100', 'tags.debug_mode = "true"', 'status = "failed"'];

function symbolsOf(r: RunSummary): string {
  return Array.isArray(r.params.symbols) ? (r.params.symbols as string[]).join(', ') : '';
}

function SearchBox() {
  const search = useRuns((s) => s.search);
  const setSearch = useRuns((s) => s.setSearch);
  const error = useRuns((s) => s.searchError);
  const [text, setText] = useState(search);
  return (
    <div className="runs-search">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void setSearch(text.trim());
        }}
      >
        <input
          type="search"
          className="mono"
          placeholder='Search runs, e.g. params.symbols = "TSLA" AND metrics.rows > 100'
          value={text}
          onChange={(e) => setText(e.target.value)}
          data-testid="runs-search"
        />
        <button type="submit" data-testid="runs-search-submit">
          Search
        </button>
      </form>
      <div className="muted small">
        Try:{' '}
        {EXAMPLES.map((ex) => (
          <button
            key={ex}
            type="button"
            className="link-button mono"
            onClick={() => {
              setText(ex);
              void setSearch(ex);
            }}
          >
            {ex}
          </button>
        ))}
      </div>
      {error && (
        <p className="bad" data-testid="runs-search-error">
          {error}
        </p>
      )}
    </div>
  );
}

function HistoryTable() {
  const runs = useRuns((s) => s.runs);
  const total = useRuns((s) => s.total);
  const selectedId = useRuns((s) => s.selectedId);
  const select = useRuns((s) => s.select);
  const compareIds = useRuns((s) => s.compareIds);
  const toggleCompare = useRuns((s) => s.toggleCompare);
  return (
    <div className="table-scroll runs-history">
      <table data-testid="runs-table">
        <thead>
          <tr>
            <th title="Select to compare">⇆</th>
            <th>run</th>
            <th>status</th>
            <th>trigger</th>
            <th>started</th>
            <th>duration</th>
            <th>symbols</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr
              key={r.id}
              className={`clickable ${r.id === selectedId ? 'selected' : ''}`}
              {...rowActivation(() => void select(r.id))}
              data-testid="run-row"
              data-run-id={r.id}
              data-status={r.status}
            >
              <td>
                <input
                  type="checkbox"
                  onClick={(e) => e.stopPropagation()}
                  checked={compareIds.includes(r.id)}
                  onChange={() => toggleCompare(r.id)}
                  data-testid="compare-check"
                  aria-label={`Compare ${r.id}`}
                />
              </td>
              <td className="mono">{r.id}</td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>{r.trigger}</td>
              <td>{new Date(r.startedAt).toLocaleString()}</td>
              <td>{formatDuration(r.durationMs)}</td>
              <td>
                {symbolsOf(r)}
                {r.tags.debug_mode === 'true' && <span className="badge badge-debug">DEBUG MODE</span>}
                {r.tags.missing_symbols && (
                  <span className="badge warn" title="No data for these symbols">
                    missing {r.tags.missing_symbols}
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.length === 0 && (
        <p className="muted">No runs{useRuns.getState().search ? ' match this search' : ' yet — press "Trigger now"'}.</p>
      )}
      {total > runs.length && (
        <p className="muted small">
          Showing the newest {runs.length} of {total}.
        </p>
      )}
    </div>
  );
}

function TaskGrid() {
  const runs = useRuns((s) => s.runs).slice(0, 30);
  const select = useRuns((s) => s.select);
  if (runs.length === 0) return null;
  return (
    <>
      <div className="task-grid" data-testid="task-grid">
        <div className="grid-row grid-head">
          <span className="grid-label" />
          {TASKS.map((t) => (
            <span key={t} className="grid-cell-head">
              {t}
            </span>
          ))}
        </div>
        {runs.map((r) => (
          <button
            type="button"
            key={r.id}
            className="grid-row"
            onClick={() => void select(r.id)}
            data-testid="grid-row"
            data-run-id={r.id}
          >
            <span className="grid-label mono" title={r.id}>
              {r.id.slice(9, 15)} {r.tags.debug_mode === 'true' ? '·D' : ''}
            </span>
            {TASKS.map((t) => {
              const task = r.tasks.find((x) => x.task === t);
              const state = task?.status ?? 'none';
              return (
                <span
                  key={t}
                  className={`grid-cell state-${state}`}
                  title={`${t}: ${state}${task && task.attempts > 1 ? ` after ${task.attempts} attempts` : ''}`}
                  data-testid={`grid-cell-${t}`}
                  data-state={state}
                >
                  {task && task.attempts > 1 ? task.attempts : ''}
                </span>
              );
            })}
          </button>
        ))}
      </div>
      <div className="task-legend" data-testid="task-legend">
        {STATES.map((s) => (
          <span key={s.state} className="legend-item" data-state={s.state} title={s.title}>
            <span className={`legend-swatch state-${s.state}`} />
            {s.label}
          </span>
        ))}
      </div>
    </>
  );
}

/** The global DEBUG_MODE switch: every run (and the cache) then replays from the cache only. */
function DebugToggle() {
  const debugMode = useApp((s) => s.status?.debugMode ?? false);
  const refreshStatus = useApp((s) => s.refreshStatus);
  const [error, setError] = useState<string | null>(null);
  return (
    <label
      className="small"
      title="Debug mode: runs read the cache only (offline replay), log verbosely and write a debug summary"
    >
      <input
        type="checkbox"
        checked={debugMode}
        data-testid="debug-mode-toggle"
        onChange={(e) =>
          void api
            .call('settings.update', { values: { DEBUG_MODE: e.target.checked } })
            .then(() => {
              setError(null);
              return refreshStatus();
            })
            .catch((err: Error) => setError(err.message))
        }
      />{' '}
      Debug mode {debugMode && <span className="badge badge-debug">DEBUG MODE</span>}
      {error && <span className="bad"> {error}</span>}
    </label>
  );
}

export default function RunsPage() {
  const loadRuns = useRuns((s) => s.loadRuns);
  const loadScheduler = useRuns((s) => s.loadScheduler);
  const trigger = useRuns((s) => s.trigger);
  const current = useRuns((s) => s.current);
  const message = useRuns((s) => s.message);
  const selectedId = useRuns((s) => s.selectedId);
  const select = useRuns((s) => s.select);
  const compareIds = useRuns((s) => s.compareIds);
  const compare = useRuns((s) => s.compare);
  const compareError = useRuns((s) => s.compareError);

  useEffect(() => {
    const off = subscribeRuns();
    void loadRuns();
    void loadScheduler();
    const wanted = /[?&]run=([^&]+)/.exec(window.location.hash)?.[1];
    if (wanted) void select(decodeURIComponent(wanted));
    // Durations of running runs and next fire times move with the clock.
    const timer = setInterval(() => {
      void loadScheduler();
      if (useRuns.getState().current) void loadRuns();
    }, 15_000);
    return () => {
      off();
      clearInterval(timer);
    };
  }, [loadRuns, loadScheduler, select]);

  return (
    <section className="page runs-page" data-testid="page-runs">
      <div className="page-header">
        <h1>Runs</h1>
        <div className="actions">
          <DebugToggle />
          {current && (
            <span
              className="muted small"
              data-testid="run-in-progress"
              title="One run at a time: a trigger while this one runs is refused"
            >
              in progress: <span className="mono">{current}</span>
            </span>
          )}
          <button type="button" onClick={() => void trigger(true)} data-testid="trigger-debug" disabled={Boolean(current)}>
            Trigger in debug mode
          </button>
          <button
            type="button"
            className="primary"
            onClick={() => void trigger(false)}
            data-testid="trigger-run"
            disabled={Boolean(current)}
          >
            Trigger now
          </button>
        </div>
      </div>
      {message && (
        <p className={`${message.level} small`} data-testid="runs-message">
          {message.text}
        </p>
      )}
      <div className="runs-top">
        <div className="card">
          <SearchBox />
          <HistoryTable />
          <div className="actions">
            <button type="button" disabled={compareIds.length < 2} onClick={() => void compare()} data-testid="compare-runs">
              Compare {compareIds.length > 0 ? compareIds.length : ''} selected
            </button>
            {compareError && <span className="bad">{compareError}</span>}
          </div>
        </div>
        <div>
          <SchedulerCard />
          <div className="card">
            <h2>Runs × tasks</h2>
            <TaskGrid />
          </div>
        </div>
      </div>
      <CompareView />
      {selectedId && (
        <div className="card">
          <RunDetail />
        </div>
      )}
    </section>
  );
}
