/** Public face of core/dashboard: the at-a-glance summary of the workstation (no tables of its own). */
export { dashboardHandlers } from './api-handlers';
export { createDashboard, type DashboardDeps, sizeByTopLevelEntry } from './summary';
