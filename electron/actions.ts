/**
 * What the menu and the tray can do. Each action is a contract call to the core host (or a
 * folder/page to show); the result is told to the user as a desktop notification.
 */
import { isMethodName } from '../core/api/contract';
import type { DASHBOARD_PAGES } from '../core/api/dashboard';
import type { CallResult } from '../core/api/define';

export type PageId = (typeof DASHBOARD_PAGES)[number];

export interface AppActions {
  showWindow(): void;
  showPage(page: PageId): void;
  openDataFolder(): void;
  openLogsFolder(): void;
  openDocs(): void;
  backup(): Promise<void>;
  refreshCache(): Promise<void>;
  runPipelineNow(): Promise<void>;
  toggleDebugMode(): Promise<void>;
  quit(): void;
}

/** Contract methods behind the quick actions, first one present in this build wins. */
export const ACTION_METHODS = {
  backup: ['backups.create'],
  refreshCache: ['cache.refresh'],
  runPipelineNow: ['runs.trigger'],
} as const;

export interface ActionDeps {
  call(method: string, input: unknown): Promise<CallResult>;
  notify(level: 'info' | 'warn' | 'error', title: string, message: string): void;
  showWindow(): void;
  showPage(page: PageId): void;
  openPath(path: string): void;
  dataDir(): string;
  /** The user guide (docs/DESKTOP.md, shipped as an extra resource). */
  docsPath: string;
  quit(): void;
  has?(method: string): boolean;
}

export function createAppActions(deps: ActionDeps): AppActions {
  const has = deps.has ?? isMethodName;
  const firstMethod = (candidates: readonly string[]) => candidates.find((m) => has(m)) ?? null;

  const run = async (what: string, candidates: readonly string[], input: unknown, done: (result: unknown) => string) => {
    const method = firstMethod(candidates);
    if (!method) {
      deps.notify('warn', what, `${what} is not available in this version`);
      return;
    }
    const res = await deps.call(method, input);
    if (res.ok) deps.notify('info', what, done(res.result));
    else deps.notify('error', `${what} failed`, res.error.message);
  };

  return {
    showWindow: deps.showWindow,
    showPage: deps.showPage,
    openDataFolder: () => deps.openPath(deps.dataDir()),
    openLogsFolder: () => deps.openPath(`${deps.dataDir()}/logs`),
    openDocs: () => deps.openPath(deps.docsPath),
    backup: () =>
      run('Backup', ACTION_METHODS.backup, {}, (r) => {
        const b = r as { id?: string; bytes?: number };
        return `Backup ${b.id ?? ''} written (${Math.round((b.bytes ?? 0) / 1024 / 1024)} MB) to the backups folder`;
      }),
    refreshCache: () =>
      run('Refresh cache', ACTION_METHODS.refreshCache, {}, (r) => {
        const symbols = (r as { symbols?: string[] }).symbols ?? [];
        return `Refreshing ${symbols.length > 0 ? symbols.join(', ') : 'all symbols'}`;
      }),
    runPipelineNow: () =>
      run('Run pipeline', ACTION_METHODS.runPipelineNow, {}, (r) => {
        const id = (r as { runId?: string; id?: string }).runId ?? (r as { id?: string }).id;
        return id ? `Run ${id} started` : 'Run started';
      }),
    async toggleDebugMode() {
      const status = await deps.call('system.status', {});
      if (!status.ok) {
        deps.notify('error', 'Debug mode', status.error.message);
        return;
      }
      const next = !(status.result as { debugMode: boolean }).debugMode;
      const res = await deps.call('settings.update', { values: { DEBUG_MODE: next } });
      if (res.ok)
        deps.notify('info', 'Debug mode', next ? 'Debug mode on: cache only, nothing touches the network' : 'Debug mode off');
      else deps.notify('error', 'Debug mode', res.error.message);
    },
    quit: deps.quit,
  };
}
