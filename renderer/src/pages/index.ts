/** The pages of the app, in navigation order. */
import { type ComponentType, lazy } from 'react';
import type { PageId } from '../stores/app';

export interface PageEntry {
  id: PageId;
  title: string;
  component: ComponentType;
}

export const PAGES: PageEntry[] = [
  { id: 'dashboard', title: 'Dashboard', component: lazy(() => import('./DashboardPage')) },
  { id: 'market-data', title: 'Market Data', component: lazy(() => import('./MarketDataPage')) },
  { id: 'runs', title: 'Runs', component: lazy(() => import('./RunsPage')) },
  { id: 'artifacts', title: 'Artifacts', component: lazy(() => import('./ArtifactsPage')) },
  { id: 'webhooks', title: 'Webhooks', component: lazy(() => import('./WebhooksPage')) },
  { id: 'imports', title: 'Imports', component: lazy(() => import('./ImportsPage')) },
  { id: 'integrity', title: 'Integrity', component: lazy(() => import('./IntegrityPage')) },
  { id: 'settings', title: 'Settings', component: lazy(() => import('./SettingsPage')) },
];
