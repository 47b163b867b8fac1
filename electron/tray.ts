/** The tray icon: status at a glance (IBKR, webhooks, last run) and the quick actions. */
import type { MenuItemConstructorOptions } from 'electron';
import type { DashboardSummary } from '../core/api/dashboard';
import type { AppActions } from './actions';

/** `problem`: why the core is down (it could not start, or keeps crashing). */
export function trayStatusLines(summary: DashboardSummary | null, problem: string | null = null): string[] {
  if (problem) return [`Core stopped: ${problem.split('\n')[0].slice(0, 120)}`];
  if (!summary) return ['Core: starting…'];
  const ib = summary.ibkr;
  const ibkr = !ib.connected
    ? `IBKR: ${ib.available ? ib.status : 'not configured'}`
    : ib.connectivityLost
      ? `IBKR: gateway connected, but it lost its link to IBKR (${ib.lastNotice?.code ?? 1100})`
      : `IBKR: connected (${ib.host}:${ib.port}${ib.accounts.length ? `, ${ib.accounts.join(', ')}` : ''})`;
  const wh = summary.webhooks;
  const webhooks = !wh.available
    ? 'Webhooks: not available'
    : wh.listening
      ? `Webhooks: listening on ${wh.address ?? '?'}${wh.eventsToday !== null ? `, ${wh.eventsToday} today` : ''}`
      : 'Webhooks: not listening';
  const last = summary.scheduler.lastRun;
  const run = last
    ? `Last run: ${last.status}${last.startedAt ? ` (${last.startedAt.slice(0, 16).replace('T', ' ')})` : ''}`
    : 'Last run: none yet';
  return [ibkr, webhooks, run, ...(summary.debugMode ? ['DEBUG MODE (cache only)'] : [])];
}

export function trayMenuTemplate(
  summary: DashboardSummary | null,
  actions: AppActions,
  problem: string | null = null,
): MenuItemConstructorOptions[] {
  return [
    ...trayStatusLines(summary, problem).map((label): MenuItemConstructorOptions => ({ label, enabled: false })),
    { type: 'separator' },
    { label: 'Open Marketdesk', click: () => actions.showWindow() },
    { label: 'Refresh Cache', click: () => void actions.refreshCache() },
    { label: 'Run Pipeline Now', click: () => void actions.runPipelineNow() },
    {
      label: 'Debug Mode',
      type: 'checkbox',
      checked: summary?.debugMode ?? false,
      click: () => void actions.toggleDebugMode(),
    },
    { type: 'separator' },
    { label: 'Quit Marketdesk', click: () => actions.quit() },
  ];
}

export function trayTooltip(summary: DashboardSummary | null, problem: string | null = null): string {
  return ['Marketdesk', ...trayStatusLines(summary, problem)].join('\n');
}
