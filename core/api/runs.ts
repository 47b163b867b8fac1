/**
 * Contract for pipeline runs: history with search, detail, logs, trigger/cancel/replay, compare,
 * artifacts and the schedule. Times are ISO strings; run ids look like 20260105-143000-a1b2c3.
 */
import { z } from 'zod';
import { symbolSchema } from '../config/schema';
import { BAR_SIZES } from '../ibkr/types';
import { event, method } from './define';

export const runStatusSchema = z.enum(['running', 'succeeded', 'failed', 'cancelled', 'interrupted']);
export const taskStatusSchema = z.enum(['running', 'succeeded', 'failed', 'skipped', 'cancelled', 'interrupted']);
export const runTriggerSchema = z.enum(['manual', 'scheduled', 'replay']);
export const logLevelSchema = z.enum(['debug', 'info', 'warn', 'error']);

export const runSummarySchema = z.object({
  id: z.string(),
  workflow: z.string(),
  status: runStatusSchema,
  trigger: runTriggerSchema,
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  params: z.record(z.string(), z.unknown()),
  tags: z.record(z.string(), z.string()),
  error: z.string().nullable(),
  replayOf: z.string().nullable(),
  tasks: z.array(z.object({ task: z.string(), status: taskStatusSchema, attempts: z.number() })),
});
export type RunSummaryView = z.infer<typeof runSummarySchema>;

export const runDetailSchema = runSummarySchema.extend({
  attempts: z.array(
    z.object({
      task: z.string(),
      attempt: z.number(),
      status: taskStatusSchema,
      startedAt: z.string(),
      endedAt: z.string().nullable(),
      durationMs: z.number().nullable(),
      error: z.string().nullable(),
    }),
  ),
  metrics: z.array(z.object({ key: z.string(), value: z.number(), step: z.number(), time: z.string() })),
  latestMetrics: z.record(z.string(), z.number()),
  outputs: z.record(z.string(), z.unknown()),
});
export type RunDetailView = z.infer<typeof runDetailSchema>;

export const logEntrySchema = z.object({
  id: z.number(),
  runId: z.string(),
  time: z.string(),
  level: logLevelSchema,
  task: z.string().nullable(),
  attempt: z.number().nullable(),
  message: z.string(),
  fields: z.record(z.string(), z.unknown()).nullable(),
});
export type LogEntryView = z.infer<typeof logEntrySchema>;

export const artifactSchema = z.object({
  id: z.number(),
  runId: z.string(),
  name: z.string(),
  kind: z.string(),
  path: z.string(),
  size: z.number(),
  checksum: z.string(),
  status: z.enum(['stored', 'spooled']),
  createdAt: z.string(),
});
export type ArtifactView = z.infer<typeof artifactSchema>;

const cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const artifactPreviewSchema = z.object({
  artifact: artifactSchema,
  format: z.enum(['table', 'json', 'text']),
  columns: z.array(z.string()),
  rows: z.array(z.array(cell)),
  json: z.unknown().optional(),
  text: z.string().optional(),
  /** Rows in the whole file (tables), null when unknown. */
  totalRows: z.number().nullable(),
  truncated: z.boolean(),
});
export type ArtifactPreview = z.infer<typeof artifactPreviewSchema>;

export const compareSchema = z.object({
  runIds: z.array(z.string()),
  rows: z.array(
    z.object({
      section: z.enum(['run', 'params', 'tags', 'metrics', 'outputs']),
      key: z.string(),
      values: z.array(cell),
      differs: z.boolean(),
    }),
  ),
  sameData: z.boolean(),
});
export type RunComparisonView = z.infer<typeof compareSchema>;

export const schedulerStatusSchema = z.object({
  workflow: z.string(),
  expression: z.string(),
  timezone: z.string(),
  paused: z.boolean(),
  active: z.boolean(),
  nextRuns: z.array(z.string()),
  lastFireAt: z.string().nullable(),
  lastResult: z
    .object({
      at: z.string(),
      outcome: z.enum(['started', 'skipped', 'refused', 'failed']),
      runId: z.string().nullable(),
      message: z.string(),
    })
    .nullable(),
  missed: z.array(z.object({ id: z.number(), expectedAt: z.string(), detectedAt: z.string() })),
  engine: z.enum(['node-cron', 'clock']),
  /** WORKFLOW_SKIP_HOLIDAYS: fire times on NYSE holidays are skipped and left out of nextRuns. */
  skipsHolidays: z.boolean(),
});
export type SchedulerStatusView = z.infer<typeof schedulerStatusSchema>;

/** True for YYYY-MM-DD (optionally with a time) naming a day that exists: Date.parse rolls 2025-02-30 over to March 2. */
export function isRealDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return false;
  return value.length === 10 || Number.isFinite(Date.parse(value.replace(' ', 'T')));
}

// Run ids are `20261123-091500-a1b2c3`; a short form is 4+ of their characters. Nothing else can name a run
// (control characters and LIKE wildcards would otherwise reach the prefix search).
const runId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9-]+$/, 'expected a run id such as 20261123-091500-a1b2c3 (or 4+ of its characters)');
const dateString = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}([T ][\d:.]+Z?)?$/, 'expected a date such as 2026-01-05')
  .refine(isRealDate, 'no such day or time (expected a date such as 2026-01-05)');

export const runsMethods = {
  'runs.list': method(
    'Run history, newest first; `search` like params.symbols = "TSLA" AND metrics.rows > 100 AND status = "failed"',
    z
      .object({
        search: z.string().max(2000).optional(),
        limit: z.number().int().min(1).max(500).default(100),
        offset: z.number().int().min(0).default(0),
      })
      .strict(),
    z.object({ runs: z.array(runSummarySchema), total: z.number(), current: z.string().nullable() }),
  ),
  'runs.get': method(
    'One run: tasks and attempts, params, tags, metrics, outputs',
    z.object({ runId }).strict(),
    runDetailSchema,
  ),
  'runs.logs': method(
    "A run's structured log lines, filtered",
    z
      .object({
        runId,
        task: z.string().optional(),
        attempt: z.number().int().min(1).optional(),
        level: logLevelSchema.optional(),
        text: z.string().max(500).optional(),
        afterId: z.number().int().min(0).optional(),
        limit: z.number().int().min(1).max(20_000).default(5000),
      })
      .strict(),
    z.object({ entries: z.array(logEntrySchema) }),
  ),
  'runs.trigger': method(
    'Start a pipeline run now (refused with RUN_IN_PROGRESS while one runs)',
    z
      .object({
        symbols: z.array(symbolSchema).min(1).max(200).optional(),
        from: dateString.optional(),
        to: dateString.optional(),
        barSize: z.enum(BAR_SIZES).optional(),
        debug: z.boolean().optional(),
      })
      .strict(),
    z.object({ runId: z.string() }),
  ),
  'runs.cancel': method('Cancel the run in progress', z.object({ runId }).strict(), z.object({ cancelled: z.boolean() })),
  'runs.replay': method(
    'Re-run a past run from the cache (debug mode) with the same params and compare the results',
    z.object({ runId }).strict(),
    z.object({ runId: z.string() }),
  ),
  'runs.compare': method(
    'Two or more runs side by side',
    z.object({ runIds: z.array(runId).min(2).max(10) }).strict(),
    compareSchema,
  ),
  'artifacts.list': method(
    'Artifacts by run, kind and date',
    z
      .object({
        runId: runId.optional(),
        kind: z.enum(['csv', 'json', 'parquet']).optional(),
        since: dateString.optional(),
        until: dateString.optional(),
        limit: z.number().int().min(1).max(5000).default(500),
      })
      .strict(),
    z.object({ artifacts: z.array(artifactSchema) }),
  ),
  'artifacts.preview': method(
    'The first rows of a CSV/Parquet artifact (via DuckDB) or a JSON artifact; `all` loads everything up to 100,000 rows',
    z
      .object({ id: z.number().int(), limit: z.number().int().min(1).max(100_000).default(100), all: z.boolean().default(false) })
      .strict(),
    artifactPreviewSchema,
  ),
  'artifacts.saveCopy': method(
    'Copy an artifact into a folder',
    z.object({ id: z.number().int(), directory: z.string().min(1) }).strict(),
    z.object({ path: z.string() }),
  ),
  'scheduler.status': method(
    'The schedule: expression, next run times, paused, missed runs',
    z.object({}).strict(),
    schedulerStatusSchema,
  ),
  'scheduler.pause': method('Pause scheduled runs (manual runs still work)', z.object({}).strict(), schedulerStatusSchema),
  'scheduler.resume': method('Resume scheduled runs', z.object({}).strict(), schedulerStatusSchema),
  'scheduler.setSchedule': method(
    'Change the cron expression (5 fields) and optionally the time zone',
    z.object({ expression: z.string().min(1).max(200), timezone: z.string().optional() }).strict(),
    schedulerStatusSchema,
  ),
  'scheduler.preview': method(
    'Next fire times of an expression, without saving it (refused with a message when invalid)',
    z
      .object({
        expression: z.string().min(1).max(200),
        timezone: z.string().optional(),
        count: z.number().int().min(1).max(50).default(5),
      })
      .strict(),
    z.object({ times: z.array(z.string()) }),
  ),
};

export const runsEvents = {
  'runs.updated': event(
    'A run or one of its tasks changed state',
    z.object({
      runId: z.string(),
      status: runStatusSchema,
      task: z.string().optional(),
      taskStatus: taskStatusSchema.optional(),
      attempt: z.number().optional(),
    }),
  ),
  'runs.log': event('New log lines of a run', logEntrySchema),
  'scheduler.updated': event('The schedule changed or fired', schedulerStatusSchema),
};

/** A metric as the trader reads it, in the UI and the CLI alike: the cache hit rate (a ratio) as a percentage. */
export function formatMetric(key: string, value: number): string {
  return key === 'cache_hit_rate' ? `${Math.round(value * 100)}%` : String(value);
}
