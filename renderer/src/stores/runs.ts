/**
 * Runs page state: the history (searchable, refreshed live from `runs.updated`), the selected run's
 * detail and logs (appended live from `runs.log`), the schedule, and a comparison of several runs.
 */
import { create } from 'zustand';
import type { MethodOutput } from '../../../core/api/browser';
import { api } from '../api';

export type RunSummary = MethodOutput<'runs.list'>['runs'][number];
export type RunDetail = MethodOutput<'runs.get'>;
export type LogEntry = MethodOutput<'runs.logs'>['entries'][number];
export type SchedulerStatus = MethodOutput<'scheduler.status'>;
export type Comparison = MethodOutput<'runs.compare'>;
export type Artifact = MethodOutput<'artifacts.list'>['artifacts'][number];

interface RunsState {
  runs: RunSummary[];
  total: number;
  current: string | null;
  search: string;
  searchError: string | null;
  selectedId: string | null;
  detail: RunDetail | null;
  logs: LogEntry[];
  artifacts: Artifact[];
  scheduler: SchedulerStatus | null;
  schedulerError: string | null;
  message: { level: 'ok' | 'bad'; text: string } | null;
  compareIds: string[];
  comparison: Comparison | null;
  compareError: string | null;
  loadRuns(): Promise<void>;
  setSearch(search: string): Promise<void>;
  select(runId: string | null): Promise<void>;
  refreshDetail(): Promise<void>;
  trigger(debug?: boolean): Promise<void>;
  rerunDebug(runId: string): Promise<void>;
  cancel(runId: string): Promise<void>;
  loadScheduler(): Promise<void>;
  schedulerAction(action: 'pause' | 'resume'): Promise<void>;
  setSchedule(expression: string, timezone: string): Promise<boolean>;
  toggleCompare(runId: string): void;
  compare(): Promise<void>;
  closeCompare(): void;
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export const useRuns = create<RunsState>((set, get) => ({
  runs: [],
  total: 0,
  current: null,
  search: '',
  searchError: null,
  selectedId: null,
  detail: null,
  logs: [],
  artifacts: [],
  scheduler: null,
  schedulerError: null,
  message: null,
  compareIds: [],
  comparison: null,
  compareError: null,

  async loadRuns() {
    try {
      const res = await api.call('runs.list', { search: get().search || undefined, limit: 100 });
      set({ runs: res.runs, total: res.total, current: res.current, searchError: null });
    } catch (err) {
      // The rows of the previous search would read as the answer to this one.
      set({ searchError: errText(err), runs: [], total: 0 });
    }
  },

  async setSearch(search) {
    set({ search });
    await get().loadRuns();
  },

  async select(runId) {
    set({ selectedId: runId, detail: null, logs: [], artifacts: [] });
    if (runId) await get().refreshDetail();
  },

  async refreshDetail() {
    const runId = get().selectedId;
    if (!runId) return;
    try {
      const [detail, logs, artifacts] = await Promise.all([
        api.call('runs.get', { runId }),
        api.call('runs.logs', { runId, limit: 20_000 }),
        api.call('artifacts.list', { runId }),
      ]);
      if (get().selectedId !== runId) return;
      set({ detail, logs: logs.entries, artifacts: artifacts.artifacts });
    } catch (err) {
      set({ message: { level: 'bad', text: errText(err) } });
    }
  },

  async trigger(debug = false) {
    try {
      const { runId } = await api.call('runs.trigger', debug ? { debug: true } : {});
      set({ message: { level: 'ok', text: `Run ${runId} started${debug ? ' in debug mode' : ''}` } });
      await get().loadRuns();
      await get().select(runId);
    } catch (err) {
      set({ message: { level: 'bad', text: errText(err) } });
    }
  },

  async rerunDebug(runId) {
    try {
      const res = await api.call('runs.replay', { runId });
      set({ message: { level: 'ok', text: `Replay ${res.runId} of ${runId} started (debug mode, cache only)` } });
      await get().loadRuns();
      await get().select(res.runId);
    } catch (err) {
      set({ message: { level: 'bad', text: errText(err) } });
    }
  },

  async cancel(runId) {
    try {
      const { cancelled } = await api.call('runs.cancel', { runId });
      set({
        message: cancelled
          ? { level: 'ok', text: `Cancelling ${runId}…` }
          : { level: 'bad', text: `${runId} cannot be cancelled: it is no longer running, or already recording its results` },
      });
    } catch (err) {
      set({ message: { level: 'bad', text: errText(err) } });
    }
  },

  async loadScheduler() {
    try {
      set({ scheduler: await api.call('scheduler.status', {}), schedulerError: null });
    } catch (err) {
      set({ schedulerError: errText(err) });
    }
  },

  async schedulerAction(action) {
    try {
      set({ scheduler: await api.call(action === 'pause' ? 'scheduler.pause' : 'scheduler.resume', {}), schedulerError: null });
    } catch (err) {
      set({ schedulerError: errText(err) });
    }
  },

  async setSchedule(expression, timezone) {
    try {
      set({ scheduler: await api.call('scheduler.setSchedule', { expression, timezone }), schedulerError: null });
      return true;
    } catch (err) {
      set({ schedulerError: errText(err) });
      return false;
    }
  },

  toggleCompare(runId) {
    const ids = get().compareIds;
    set({ compareIds: ids.includes(runId) ? ids.filter((x) => x !== runId) : [...ids, runId] });
  },

  async compare() {
    try {
      set({ comparison: await api.call('runs.compare', { runIds: get().compareIds }), compareError: null });
    } catch (err) {
      set({ compareError: errText(err) });
    }
  },

  closeCompare() {
    set({ comparison: null, compareError: null });
  },
}));

let refreshTimer: ReturnType<typeof setTimeout> | null = null;

/** Live updates: state changes reload the list (coalesced), log lines append to the open run. */
export function subscribeRuns(): () => void {
  const offUpdated = api.on('runs.updated', (e) => {
    if (!refreshTimer) {
      refreshTimer = setTimeout(() => {
        refreshTimer = null;
        void useRuns.getState().loadRuns();
        const { selectedId } = useRuns.getState();
        if (selectedId) void useRuns.getState().refreshDetail();
      }, 150);
    }
    if (e.runId === useRuns.getState().selectedId && !e.task && e.status !== 'running') void useRuns.getState().refreshDetail();
  });
  const offLog = api.on('runs.log', (entry) => {
    const s = useRuns.getState();
    if (entry.runId !== s.selectedId || s.logs.some((l) => l.id === entry.id)) return;
    useRuns.setState({ logs: [...s.logs, entry] });
  });
  const offScheduler = api.on('scheduler.updated', (status) => useRuns.setState({ scheduler: status }));
  return () => {
    offUpdated();
    offLog();
    offScheduler();
  };
}
