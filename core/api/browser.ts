/** The renderer's view of the contract: browser-safe (no Node modules), types and the client only. */

/** IBKR's longest request span per bar size: the UI sizes its refreshes with it. */
export { isBarSize, maxDuration } from '../ibkr/durations';
export { queuedSymbolProgress } from './cache';
export { ApiCallError, ApiClient, type ApiTransport, httpTransport } from './client';
export type {
  EventName,
  EventPayload,
  MethodInput,
  MethodName,
  MethodOutput,
} from './contract';
export { EVENT_NAMES, events, METHOD_NAMES, methods } from './contract';
export { DASHBOARD_PAGES } from './dashboard';
export type { ApiIssue, CallResult } from './define';
export { formatMetric } from './runs';
export type { SettingsView, SystemStatus } from './system';
