/**
 * Contract for the dashboard capability: one summary of everything a trader glances at
 * (IBKR, webhooks, scheduler, cache, disk), aggregated from the other capabilities' methods.
 * A section whose capability is not present (or fails) is `available: false`, never an error.
 */
import { z } from 'zod';
import { event, method } from './define';

const iso = z.string().nullable();
const count = z.number().nullable();

export const dashboardSummarySchema = z.object({
  generatedAt: z.string(),
  demo: z.boolean(),
  debugMode: z.boolean(),
  /** No IBKR connection yet and nothing cached: show the first-run guide. */
  firstRun: z.boolean(),
  ibkr: z.object({
    available: z.boolean(),
    status: z.string(),
    connected: z.boolean(),
    host: z.string(),
    port: z.number(),
    serverVersion: z.number().nullable(),
    accounts: z.array(z.string()),
    /** Connected to the gateway, but IBKR's 1100 says it lost its link to IBKR's servers (until 1101/1102). */
    connectivityLost: z.boolean(),
    /** The last connectivity or farm notice (1100/1101/1102, 2103…), with its time. */
    lastNotice: z.object({ code: z.number().nullable(), message: z.string(), at: z.string() }).nullable(),
    lastError: z.string().nullable(),
    lastErrorAt: iso,
    /** Whether lastError is a problem now. Connected (or offline on purpose in debug mode), it is history. */
    lastErrorCurrent: z.boolean(),
  }),
  webhooks: z.object({
    available: z.boolean(),
    listening: z.boolean().nullable(),
    address: z.string().nullable(),
    eventsToday: count,
    lastEventAt: iso,
    rejected: count,
    lastError: z.string().nullable(),
  }),
  scheduler: z.object({
    available: z.boolean(),
    schedule: z.string(),
    timezone: z.string(),
    paused: z.boolean(),
    nextRunAt: iso,
    lastRun: z.object({ id: z.string(), status: z.string(), startedAt: iso, finishedAt: iso }).nullable(),
  }),
  cache: z.object({
    available: z.boolean(),
    enabled: z.boolean(),
    symbols: count,
    rows: count,
    hitRate: count,
    lastRefreshAt: iso,
  }),
  disk: z.object({
    dataDir: z.string(),
    usedBytes: z.number(),
    freeBytes: count,
    parts: z.array(z.object({ name: z.string(), bytes: z.number() })),
  }),
  /** Contract methods the dashboard's buttons call, when their capability provides them. */
  actions: z.object({
    reconnect: z.string().nullable(),
    refreshCache: z.string().nullable(),
    runNow: z.string().nullable(),
    pauseScheduler: z.string().nullable(),
    resumeScheduler: z.string().nullable(),
  }),
});
export type DashboardSummary = z.infer<typeof dashboardSummarySchema>;

export const DASHBOARD_PAGES = [
  'dashboard',
  'market-data',
  'runs',
  'artifacts',
  'webhooks',
  'imports',
  'integrity',
  'settings',
] as const;

const ibkrNoticeSchema = z.object({ code: z.number().nullable(), message: z.string(), at: z.string() });

/** IBKR connection status (core/ibkr IbkrStatus). */
export const ibkrStatusSchema = z.object({
  state: z.enum(['disconnected', 'connecting', 'connected']),
  connected: z.boolean(),
  mode: z.enum(['live', 'demo']),
  offline: z.boolean(),
  host: z.string(),
  port: z.number(),
  clientId: z.number(),
  configuredClientId: z.number(),
  serverVersion: z.number().nullable(),
  connectionTime: z.string().nullable(),
  accounts: z.array(z.string()),
  connectivityLost: z.boolean(),
  lastNotice: ibkrNoticeSchema.nullable(),
  lastError: ibkrNoticeSchema.nullable(),
  connectedAt: z.string().nullable(),
  reconnectAttempt: z.number(),
  nextRetryAt: z.string().nullable(),
});
export type IbkrStatusView = z.infer<typeof ibkrStatusSchema>;

export const dashboardMethods = {
  'ibkr.status': method('IBKR connection: state, server version, accounts, last error', z.object({}).strict(), ibkrStatusSchema),
  'ibkr.reconnect': method('Drop the IBKR connection (if any) and connect again now', z.object({}).strict(), ibkrStatusSchema),
  'dashboard.summary': method(
    'IBKR, webhook listener, scheduler, cache and disk usage at a glance',
    z.object({}).strict(),
    dashboardSummarySchema,
  ),
};

export const dashboardEvents = {
  'ibkr.status': event('The IBKR connection status changed', ibkrStatusSchema),
  'desktop.navigate': event('The desktop menu or tray asks the UI to show a page', z.object({ page: z.enum(DASHBOARD_PAGES) })),
};
