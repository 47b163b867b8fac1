/** Dashboard state: the summary from `dashboard.summary`, refreshed on a timer and on events, plus its actions. */
import { create } from 'zustand';
import type { MethodName, MethodOutput } from '../../../core/api/browser';
import { api } from '../api';

export type DashboardSummary = MethodOutput<'dashboard.summary'>;

interface DashboardState {
  summary: DashboardSummary | null;
  error: string | null;
  /** Which action is running (button label), to disable it meanwhile. */
  busy: string | null;
  /** Latest cache refresh progress: symbols done / total. */
  refresh: { done: number; total: number; failed: number } | null;
  load(): Promise<void>;
  /** Calls a contract method named by the summary (it differs by build), then reloads. */
  act(label: string, method: string | null, input: unknown): Promise<string | null>;
  setDebugMode(on: boolean): Promise<string | null>;
  setPaused(paused: boolean): Promise<string | null>;
}

export const useDashboard = create<DashboardState>((set, get) => ({
  summary: null,
  error: null,
  busy: null,
  refresh: null,
  async load() {
    try {
      set({ summary: await api.call('dashboard.summary', {}), error: null });
    } catch (err) {
      set({ error: (err as Error).message });
    }
  },
  async act(label, method, input) {
    if (!method) return `${label} is not available in this version`;
    set({ busy: label });
    try {
      await api.call(method as MethodName, input as never);
      return null;
    } catch (err) {
      return (err as Error).message;
    } finally {
      set({ busy: null });
      void get().load();
    }
  },
  setDebugMode(on) {
    return get().act('Debug mode', 'settings.update', { values: { DEBUG_MODE: on } });
  },
  setPaused(paused) {
    const actions = get().summary?.actions;
    const method = paused ? actions?.pauseScheduler : actions?.resumeScheduler;
    // Without a scheduler service the setting is the switch it reads at start.
    return method
      ? get().act(paused ? 'Pause' : 'Resume', method, {})
      : get().act(paused ? 'Pause' : 'Resume', 'settings.update', { values: { WORKFLOW_PAUSED: paused } });
  },
}));

/** Keeps the dashboard fresh while it is shown; returns the cleanup. */
export function followDashboard(): () => void {
  const { load } = useDashboard.getState();
  void load();
  const timer = setInterval(() => void load(), 5000);
  const offs = [
    api.on('settings.changed', () => void load()),
    // Connects, drops and IBKR's connectivity notices show at once, not on the next tick.
    api.on('ibkr.status', () => void load()),
    api.on('cache.progress', (p) => {
      if (p.kind === 'overall')
        useDashboard.setState({ refresh: { done: p.symbolsDone, total: p.symbolsTotal, failed: p.failed } });
      if (p.kind === 'summary') {
        useDashboard.setState({ refresh: null });
        void load();
      }
    }),
  ];
  return () => {
    clearInterval(timer);
    for (const off of offs) off();
  };
}
