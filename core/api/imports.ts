/** Contract for history imports, backups, Parquet exports and integrity reports. */
import { z } from 'zod';
import { timeInputSchema } from './cache';
import { type EventMap, event, type MethodMap, method } from './define';

export const importJobStateSchema = z.enum([
  'queued',
  'downloading',
  'staged',
  'validating',
  'importing',
  'exporting',
  'done',
  'failed',
  'cancelled',
]);

export const importJobSchema = z.object({
  id: z.string(),
  kind: z.literal('gex'),
  origin: z.string(),
  url: z.string().nullable(),
  path: z.string().nullable(),
  category: z.string(),
  state: importJobStateSchema,
  /** Resume marker: the last step that completed durably. */
  step: z.string(),
  attempts: z.number(),
  bytesDone: z.number(),
  bytesTotal: z.number().nullable(),
  recordsDone: z.number(),
  recordsValid: z.number(),
  recordsInvalid: z.number(),
  snapshotsInserted: z.number(),
  strikesInserted: z.number(),
  strikesDuplicate: z.number(),
  contentHash: z.string().nullable(),
  stagedPath: z.string().nullable(),
  backupId: z.string().nullable(),
  duplicateOf: z.string().nullable(),
  error: z.string().nullable(),
  errorCode: z.string().nullable(),
  report: z.object({
    layout: z.string().optional(),
    encoding: z.string().optional(),
    entries: z.array(z.string()).optional(),
    invalidExamples: z
      .array(z.object({ index: z.number(), message: z.string(), excerpt: z.string(), entry: z.string().optional() }))
      .optional(),
    nonRecords: z.number().optional(),
    duplicatesInFile: z.number().optional(),
    durationsMs: z.record(z.string(), z.number()).optional(),
    exportPaths: z.array(z.string()).optional(),
    integrityReportId: z.string().nullable().optional(),
    tickers: z.array(z.string()).optional(),
    firstTs: z.string().nullable().optional(),
    lastTs: z.string().nullable().optional(),
    notes: z.array(z.string()).optional(),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type ImportJobView = z.infer<typeof importJobSchema>;

const fileInfo = z.object({ file: z.string(), bytes: z.number(), sha256: z.string() });
export const backupSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  reason: z.string(),
  jobId: z.string().nullable().optional(),
  files: z.object({ warehouse: fileInfo, journal: fileInfo }),
  counts: z.object({ warehouse: z.record(z.string(), z.number()), journal: z.record(z.string(), z.number()) }),
  durationMs: z.number(),
  bytes: z.number(),
});
export type BackupView = z.infer<typeof backupSchema>;

export const exportResultSchema = z.object({
  table: z.string(),
  dir: z.string(),
  rows: z.number(),
  partitions: z.number(),
  files: z.number(),
  partitionBy: z.array(z.string()),
  durationMs: z.number(),
});

export const integritySourceSchema = z.enum(['bars', 'gex', 'option_trades', 'alerts']);

export const integrityFindingSchema = z.object({
  source: z.string(),
  check: z.string(),
  status: z.enum(['pass', 'warn', 'fail', 'skipped']),
  count: z.number(),
  message: z.string(),
  table: z.string().nullable(),
  rows: z.array(z.record(z.string(), z.unknown())),
});
export type IntegrityFinding = z.infer<typeof integrityFindingSchema>;

export const integrityReportSummarySchema = z.object({
  id: z.string(),
  trigger: z.string(),
  status: z.enum(['pass', 'warn', 'fail']),
  sources: z.array(z.string()),
  scope: z.record(z.string(), z.unknown()),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  counts: z.object({ pass: z.number(), warn: z.number(), fail: z.number(), skipped: z.number() }),
});
export const integrityReportSchema = integrityReportSummarySchema.extend({ findings: z.array(integrityFindingSchema) });
export type IntegrityReportView = z.infer<typeof integrityReportSchema>;

const id = z.object({ id: z.string().min(1) }).strict();

/** A date (2026-01-05), ISO time or epoch ms bounding an export, as DuckDB reads a TIMESTAMP: checked here, not by its cast. */
export const exportTimeSchema = timeInputSchema.transform((ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));

export const importsMethods = {
  'imports.list': method(
    'Import jobs, newest first',
    z.object({ limit: z.number().int().min(1).max(1000).default(100) }).strict(),
    z.object({ jobs: z.array(importJobSchema) }),
  ),
  'imports.get': method('One import job with its report', id, importJobSchema),
  'imports.enqueue': method(
    'Queue a history import from an http(s) URL or a local file path (idempotent by URL and by content)',
    z
      .object({
        url: z.string().trim().min(1).optional(),
        path: z.string().trim().min(1).optional(),
        category: z.string().trim().min(1).max(16).optional(),
      })
      .strict()
      .refine((v) => !v.url !== !v.path, { message: 'give exactly one of url or path' }),
    z.object({ job: importJobSchema, created: z.boolean() }),
  ),
  'imports.cancel': method('Cancel a queued or running import job', id, importJobSchema),
  'imports.retry': method('Queue a failed or cancelled job again; it resumes from its last completed step', id, importJobSchema),
  'backups.list': method(
    'Backups in the data folder, newest first',
    z.object({}).strict(),
    z.object({ backups: z.array(backupSchema) }),
  ),
  'backups.create': method('Back up the warehouse and journal now', z.object({}).strict(), backupSchema),
  'backups.verify': method(
    'Re-hash a backup and open its copies read-only',
    id,
    z.object({ id: z.string(), ok: z.boolean(), problems: z.array(z.string()) }),
  ),
  'exports.tables': method(
    'Warehouse tables that can be exported',
    z.object({}).strict(),
    z.object({ tables: z.array(z.string()) }),
  ),
  'exports.parquet': method(
    'Export a table (optionally a range and tickers) to <dataDir>/parquet/<table>/ticker=…/date=…',
    z
      .object({
        table: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a table name'),
        from: exportTimeSchema.optional(),
        to: exportTimeSchema.optional(),
        tickers: z.array(z.string().regex(/^[^\p{Cc}]+$/u, 'expected a ticker without control characters')).optional(),
      })
      .strict()
      // Both are 'YYYY-MM-DD HH:MM:SS.mmm' here: text order is time order.
      .refine((v) => v.from === undefined || v.to === undefined || v.from <= v.to, {
        message: '"from" must not be after "to"',
        path: ['from'],
      }),
    exportResultSchema,
  ),
  'integrity.run': method(
    'Run integrity checks now (all sources, or the ones given)',
    z.object({ sources: z.array(integritySourceSchema).optional() }).strict(),
    integrityReportSchema,
  ),
  'integrity.list': method(
    'Integrity reports, newest first',
    z.object({ limit: z.number().int().min(1).max(500).default(50) }).strict(),
    z.object({ reports: z.array(integrityReportSummarySchema) }),
  ),
  'integrity.get': method('One integrity report with its findings and offending rows', id, integrityReportSchema),
} satisfies MethodMap;

export const importsEvents = {
  'imports.job': event('An import job changed state or made progress', importJobSchema),
  'backups.changed': event('A backup was created or removed', z.object({})),
  'integrity.report': event('An integrity run finished', integrityReportSummarySchema),
} satisfies EventMap;
