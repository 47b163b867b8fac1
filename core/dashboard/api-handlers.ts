/** The dashboard's contract handlers. */
import type { Handlers } from '../api';
import { createDashboard, type DashboardDeps } from './summary';

export function dashboardHandlers(deps: DashboardDeps): Pick<Handlers, 'dashboard.summary'> {
  const dashboard = createDashboard(deps);
  return { 'dashboard.summary': () => dashboard.summary() };
}
