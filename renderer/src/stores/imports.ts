/** Imports, backups and integrity state, fed by the typed client and its live events. */
import { create } from 'zustand';
import type { MethodOutput } from '../../../core/api/browser';
import { api } from '../api';

export type ImportJob = MethodOutput<'imports.get'>;
export type Backup = MethodOutput<'backups.create'>;
export type IntegrityReport = MethodOutput<'integrity.get'>;
export type IntegritySummary = MethodOutput<'integrity.list'>['reports'][number];

interface ImportsState {
  jobs: ImportJob[];
  backups: Backup[];
  reports: IntegritySummary[];
  selectedJobId: string | null;
  selectedReportId: string | null;
  report: IntegrityReport | null;
  error: string | null;
  loadJobs(): Promise<void>;
  loadBackups(): Promise<void>;
  loadReports(): Promise<void>;
  upsertJob(job: ImportJob): void;
  selectJob(id: string | null): void;
  selectReport(id: string | null): Promise<void>;
  setError(message: string | null): void;
}

export const useImports = create<ImportsState>((set, get) => ({
  jobs: [],
  backups: [],
  reports: [],
  selectedJobId: null,
  selectedReportId: null,
  report: null,
  error: null,
  async loadJobs() {
    const { jobs } = await api.call('imports.list', { limit: 100 });
    set({ jobs });
  },
  async loadBackups() {
    const { backups } = await api.call('backups.list', {});
    set({ backups });
  },
  async loadReports() {
    const { reports } = await api.call('integrity.list', { limit: 50 });
    set({ reports });
  },
  upsertJob(job) {
    const jobs = get().jobs;
    const i = jobs.findIndex((j) => j.id === job.id);
    set({ jobs: i >= 0 ? jobs.map((j) => (j.id === job.id ? job : j)) : [job, ...jobs] });
  },
  selectJob(id) {
    set({ selectedJobId: id });
  },
  async selectReport(id) {
    set({ selectedReportId: id, report: null });
    if (id) set({ report: await api.call('integrity.get', { id }) });
  },
  setError(error) {
    set({ error });
  },
}));

/** Live updates while a page is open; returns the unsubscribe. */
export function subscribeImports(): () => void {
  const s = useImports.getState();
  void s.loadJobs().catch((e) => s.setError(String(e?.message ?? e)));
  void s.loadBackups().catch(() => undefined);
  void s.loadReports().catch(() => undefined);
  const offJob = api.on('imports.job', (job) => useImports.getState().upsertJob(job as ImportJob));
  const offBackup = api.on('backups.changed', () => void useImports.getState().loadBackups());
  const offReport = api.on('integrity.report', () => void useImports.getState().loadReports());
  return () => {
    offJob();
    offBackup();
    offReport();
  };
}
