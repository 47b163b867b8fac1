/**
 * The import queue: runs journal-backed jobs one at a time (IMPORT_CONCURRENCY), each through
 *   queued → downloading → staged → validating → importing → exporting → done | failed | cancelled.
 * After every durable step the job's resume marker moves (`jobs.ts` STEPS), so a job interrupted by
 * a crash or a stop is put back in the queue at the next start and skips what it already did:
 * backup taken, file downloaded (hash known), rows staged, merge committed, partitions exported.
 */
import { type Stats, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Settings } from '../config';
import { type Clock, type Logger, systemClock } from '../platform';
import { AppError, errorMessage } from '../platform/errors';
import type { Stores } from '../storage';
import { createBackup } from './backups';
import { downloadToFile, hashLocalFile, parseHttpUrl } from './download';
import { mergeStaged } from './gex-merge';
import { clearStaged, validateAndStage } from './gex-stage';
import { FINAL_STATES, type ImportJob, ImportJobStore, type JobPatch, type JobState, stepReached } from './jobs';
import { exportTableToParquet } from './parquet';

export interface EnqueueImportInput {
  url?: string;
  path?: string;
  /** Who asked: ui, cli, webhook, … (shown in the job list). */
  source?: string;
  /** gexbot aggregation of the file (full | zero | one); default full. */
  category?: string;
}

export interface EnqueueImportResult {
  job: ImportJob;
  /** false when an active job for the same URL already existed (idempotent enqueue). */
  created: boolean;
}

export interface ImportQueueDeps {
  stores: Stores;
  settings: () => Settings;
  dataDir: () => string;
  logger: Logger;
  clock?: Clock;
  onJob?: (job: ImportJob) => void;
  /** Runs after a successful merge (the integrity check); returns a report id to link. */
  afterImport?: (job: ImportJob) => Promise<string | null>;
  onBackup?: () => void;
}

const PROGRESS_INTERVAL_MS = 250;

/** The queue serving each open journal, so `enqueueImport(db, …)` can wake it. */
const queuesByJournal = new WeakMap<object, ImportQueue>();

/**
 * Queues an import job in the journal (idempotent by URL) and wakes the queue running on that
 * journal, if any; otherwise the job runs at the next start. For callers that hold the stores but
 * not the queue (the `/gex_history_url` webhook route).
 */
export function enqueueImport(db: Stores['journal']['db'], input: EnqueueImportInput, now = new Date()): EnqueueImportResult {
  const queue = queuesByJournal.get(db);
  if (queue) return queue.enqueue(input);
  const { category, origin } = normaliseInput(input);
  return new ImportJobStore(db).create({ origin, url: input.url ?? null, path: input.path ?? null, category }, now);
}

function normaliseInput(input: EnqueueImportInput): { category: string; origin: string } {
  if (!input.url === !input.path) throw new AppError('IMPORT_BAD_INPUT', 'Give exactly one of url or path');
  if (input.url) parseHttpUrl(input.url);
  if (input.path) checkLocalFile(input.path);
  const category = (input.category ?? 'full').trim().toLowerCase() || 'full';
  if (!/^[a-z0-9_-]{1,16}$/.test(category))
    throw new AppError(
      'IMPORT_BAD_INPUT',
      `category ${JSON.stringify(category.slice(0, 40))} is not a GEX category (such as full, zero or one)`,
      {
        status: 400,
      },
    );
  return { category, origin: input.source ?? 'api' };
}

/** Refused at once, with nothing queued: a path that cannot be imported would only become a failed job. */
function checkLocalFile(path: string): void {
  const bad = (why: string) =>
    new AppError('IMPORT_BAD_PATH', `path ${JSON.stringify(path.slice(0, 300))} ${why}`, { status: 400 });
  if (!isAbsolute(path)) throw bad('is not absolute: give the full path of the file');
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw bad(code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? errorMessage(err)})`);
  }
  if (!stats.isFile()) throw bad(stats.isDirectory() ? 'is a folder, not a file' : 'is not a regular file');
}

export class ImportQueue {
  readonly jobs: ImportJobStore;
  private readonly deps: ImportQueueDeps;
  private readonly clock: Clock;
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private stopped = true;
  private lastEmit = new Map<string, number>();

  constructor(deps: ImportQueueDeps) {
    this.deps = deps;
    this.jobs = new ImportJobStore(deps.stores.journal.db);
    this.clock = deps.clock ?? systemClock;
    queuesByJournal.set(deps.stores.journal.db, this);
  }

  /** Puts interrupted jobs back in the queue (keeping their resume marker) and starts pumping. */
  async start(): Promise<void> {
    this.stopped = false;
    for (const job of this.jobs.unfinished()) {
      if (job.state !== 'queued') {
        this.deps.logger.info('resuming interrupted import job', { jobId: job.id, state: job.state, step: job.step });
        this.update(job.id, { state: 'queued' });
      }
    }
    this.pump();
  }

  /** Stops running jobs without failing them: they resume at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    const running = [...this.running.values()];
    for (const r of running) r.controller.abort(new AppError('IMPORT_INTERRUPTED', 'Marketdesk is stopping'));
    await Promise.all(running.map((r) => r.done));
  }

  enqueue(input: EnqueueImportInput): EnqueueImportResult {
    const { category, origin } = normaliseInput(input);
    const result = this.jobs.create(
      { origin, url: input.url ?? null, path: input.path ?? null, category },
      new Date(this.clock.now()),
    );
    if (result.created) {
      this.deps.logger.info('import job queued', { jobId: result.job.id, url: input.url, path: input.path });
      this.deps.onJob?.(result.job);
      queueMicrotask(() => this.pump());
    }
    return result;
  }

  get(id: string): ImportJob {
    const job = this.jobs.get(id);
    if (!job) throw new AppError('IMPORT_NOT_FOUND', `No import job ${id}`, { status: 404 });
    return job;
  }

  list(limit = 100): ImportJob[] {
    return this.jobs.list(limit);
  }

  cancel(id: string): ImportJob {
    const job = this.get(id);
    if (FINAL_STATES.includes(job.state)) return job;
    const running = this.running.get(id);
    if (running) {
      running.controller.abort(new AppError('IMPORT_CANCELLED', 'Cancelled by the user'));
      return job;
    }
    return this.finish(id, 'cancelled', { error: 'Cancelled by the user', errorCode: 'IMPORT_CANCELLED' });
  }

  retry(id: string): ImportJob {
    const job = this.get(id);
    if (!FINAL_STATES.includes(job.state) && !this.running.has(id)) {
      // Left mid-way by a process that ended (the stores are this process's alone, so nothing else runs it):
      // resume it from its last durable step, as a start would.
      const resumed = job.state === 'queued' ? job : this.update(id, { state: 'queued' });
      queueMicrotask(() => this.pump());
      return resumed;
    }
    if (job.state !== 'failed' && job.state !== 'cancelled') {
      throw new AppError('IMPORT_NOT_RETRYABLE', `Job ${id} is ${job.state}; only failed or cancelled jobs can be retried`, {
        status: 409,
      });
    }
    if (job.url) {
      const active = this.jobs.activeByUrl(job.url);
      if (active) throw new AppError('IMPORT_DUPLICATE', `Job ${active.id} is already importing ${job.url}`, { status: 409 });
    }
    const updated = this.update(id, { state: 'queued', error: null, errorCode: null, finishedAt: null });
    queueMicrotask(() => this.pump());
    return updated;
  }

  /** Resolves when the job reaches a final state (tests, CLI). */
  async waitFor(id: string, timeoutMs = 120_000): Promise<ImportJob> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = this.get(id);
      if (FINAL_STATES.includes(job.state)) return job;
      if (Date.now() > deadline) throw new AppError('IMPORT_WAIT_TIMEOUT', `Job ${id} is still ${job.state}`);
      const r = this.running.get(id);
      if (r) await Promise.race([r.done, new Promise((res) => setTimeout(res, 200))]);
      else await new Promise((res) => setTimeout(res, 50));
    }
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  private pump(): void {
    if (this.stopped) return;
    const limit = this.deps.settings().IMPORT_CONCURRENCY;
    while (this.running.size < limit) {
      const next = this.jobs.nextQueued();
      if (!next || this.running.has(next.id)) return;
      const controller = new AbortController();
      const entry = { controller, done: Promise.resolve() };
      this.running.set(next.id, entry);
      entry.done = this.run(next, controller.signal).finally(() => {
        this.running.delete(next.id);
        this.lastEmit.delete(next.id);
        this.pump();
      });
    }
  }

  private async run(initial: ImportJob, signal: AbortSignal): Promise<void> {
    let job = this.update(initial.id, {
      attempts: initial.attempts + 1,
      startedAt: initial.startedAt ?? this.nowIso(),
      state: 'downloading',
    });
    const log = this.deps.logger.child({ jobId: job.id });
    const settings = this.deps.settings();
    const dataDir = this.deps.dataDir();
    const durations: Record<string, number> = { ...(job.report.durationsMs ?? {}) };
    const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        return await fn();
      } finally {
        durations[name] = (durations[name] ?? 0) + (Date.now() - t0);
      }
    };
    const partsDir = join(dataDir, 'staging', `${job.id}.parts`);
    try {
      // 1. A backup of both stores before anything else, so every outcome leaves one behind.
      if (!stepReached(job.step, 'backed_up')) {
        const backup = await timed('backup', () =>
          createBackup(this.deps.stores, dataDir, {
            reason: `before import ${job.id}`,
            jobId: job.id,
            retention: settings.BACKUP_RETENTION,
          }),
        );
        this.deps.onBackup?.();
        job = this.update(job.id, { step: 'backed_up', backupId: backup.id, report: { ...job.report, durationsMs: durations } });
      }
      this.throwIfAborted(signal);

      // 2. Download to staging (or hash a local file in place).
      if (!stepReached(job.step, 'downloaded')) {
        job = await timed('download', () => this.download(job, signal));
      }
      this.throwIfAborted(signal);
      job = this.update(job.id, { state: 'staged', report: { ...job.report, durationsMs: durations } });

      // Same bytes imported before: done, nothing to do.
      const twin = job.contentHash ? this.jobs.sameContent(job.contentHash, job.id) : null;
      if (twin && !stepReached(job.step, 'validated')) {
        log.info('import skipped: same content as an earlier job', { twin: twin.id });
        await this.cleanupFiles(job, partsDir);
        this.finish(job.id, 'done', {
          duplicateOf: twin.id,
          report: {
            ...job.report,
            durationsMs: durations,
            notes: [`Same content (SHA-256) as job ${twin.id}; nothing imported`],
          },
        });
        return;
      }

      // 3. Validate every record and stage the valid ones.
      if (!stepReached(job.step, 'validated')) {
        job = this.update(job.id, { state: 'validating', recordsDone: 0, recordsValid: 0, recordsInvalid: 0 });
        const staged = await timed('validate', () =>
          validateAndStage(this.deps.stores.warehouse, {
            jobId: job.id,
            category: job.category,
            source: `import:${job.id}`,
            stagedPath: job.stagedPath as string,
            partsDir,
            maxBadRatio: settings.IMPORT_MAX_BAD_RATIO,
            signal,
            onProgress: (records, valid, invalid) =>
              this.progress(job.id, { recordsDone: records, recordsValid: valid, recordsInvalid: invalid }),
          }).catch((err) => {
            const d = (err as AppError).details as
              | { invalidExamples?: unknown[]; invalid?: number; valid?: number; records?: number }
              | undefined;
            if (d && typeof d === 'object' && 'invalidExamples' in d) {
              this.update(job.id, {
                recordsDone: d.records ?? 0,
                recordsValid: d.valid ?? 0,
                recordsInvalid: d.invalid ?? 0,
                report: { ...job.report, invalidExamples: d.invalidExamples as never },
              });
            }
            throw err;
          }),
        );
        const scope = await this.deps.stores.warehouse.rows<{
          tickers: string[] | null;
          first: string | null;
          last: string | null;
        }>(
          `SELECT list(DISTINCT ticker ORDER BY ticker) AS tickers, min(ts)::VARCHAR AS first, max(ts)::VARCHAR AS last
           FROM import_staged_gex_snapshots WHERE job_id = $1`,
          [job.id],
        );
        job = this.update(job.id, {
          step: 'validated',
          recordsDone: staged.records,
          recordsValid: staged.valid,
          recordsInvalid: staged.invalid,
          report: {
            ...this.get(job.id).report,
            layout: staged.layout,
            encoding: staged.encoding,
            ...(staged.entries.length > 0 ? { entries: staged.entries } : {}),
            invalidExamples: staged.invalidExamples,
            nonRecords: staged.nonRecords,
            duplicatesInFile: staged.duplicatesInFile,
            tickers: scope[0]?.tickers ?? [],
            firstTs: scope[0]?.first ?? null,
            lastTs: scope[0]?.last ?? null,
            durationsMs: durations,
          },
        });
      }
      this.throwIfAborted(signal);

      // 4. Merge into the clean tables: one transaction.
      if (!stepReached(job.step, 'merged')) {
        job = this.update(job.id, { state: 'importing' });
        const merged = await timed('merge', () => mergeStaged(this.deps.stores.warehouse, job.id, { signal }));
        job = this.update(job.id, {
          step: 'merged',
          snapshotsInserted: merged.snapshotsInserted,
          strikesInserted: merged.strikesInserted,
          strikesDuplicate: merged.strikesStaged - merged.strikesInserted,
          report: { ...job.report, durationsMs: durations },
        });
        log.info('import merged', { ...merged });
      }

      // 5. Parquet export of the touched partitions.
      if (!stepReached(job.step, 'exported')) {
        job = this.update(job.id, { state: 'exporting' });
        const exportPaths: string[] = [];
        if (settings.IMPORT_EXPORT_PARQUET && (job.report.tickers?.length ?? 0) > 0) {
          await timed('export', async () => {
            for (const table of ['gex_snapshots', 'gex_strikes']) {
              const r = await exportTableToParquet(this.deps.stores.warehouse, dataDir, {
                table,
                from: job.report.firstTs,
                to: job.report.lastTs,
                tickers: job.report.tickers,
              });
              exportPaths.push(r.dir);
            }
          });
        }
        job = this.update(job.id, { step: 'exported', report: { ...job.report, exportPaths, durationsMs: durations } });
      }

      // 6. Integrity check of what was imported (never fails the job; the report is linked).
      let integrityReportId: string | null = job.report.integrityReportId ?? null;
      if (this.deps.afterImport && !integrityReportId) {
        integrityReportId = await timed('integrity', () =>
          (this.deps.afterImport as NonNullable<ImportQueueDeps['afterImport']>)(job),
        ).catch((err) => {
          log.warn('integrity check after import failed', { error: err as Error });
          return null;
        });
      }
      await this.cleanupFiles(job, partsDir);
      this.finish(job.id, 'done', { report: { ...job.report, integrityReportId, durationsMs: durations } });
      log.info('import done', { records: job.recordsDone, invalid: job.recordsInvalid, strikes: job.strikesInserted });
    } catch (err) {
      const reason = signal.aborted ? signal.reason : err;
      if (reason instanceof AppError && reason.code === 'IMPORT_INTERRUPTED') {
        // Stopping: leave it queued with its marker; it resumes at the next start.
        this.update(job.id, { state: 'queued', report: { ...this.get(job.id).report, durationsMs: durations } });
        log.info('import interrupted by stop; will resume', { step: this.get(job.id).step });
        return;
      }
      const cancelled = signal.aborted && reason instanceof AppError && reason.code === 'IMPORT_CANCELLED';
      const error = cancelled ? (reason as AppError) : err;
      const code = error instanceof AppError ? error.code : 'IMPORT_FAILED';
      log.warn(cancelled ? 'import cancelled' : 'import failed', { error: error as Error, code });
      const current = this.get(job.id);
      // Staged rows and files of an unfinished merge are dropped: the clean tables never saw them.
      if (!stepReached(current.step, 'merged')) {
        await clearStaged(this.deps.stores.warehouse, job.id, partsDir).catch(() => undefined);
        await this.cleanupFiles(current, partsDir);
        this.update(job.id, { step: stepReached(current.step, 'backed_up') ? 'backed_up' : 'none', stagedPath: null });
      }
      this.finish(job.id, cancelled ? 'cancelled' : 'failed', {
        error: errorMessage(error),
        errorCode: code,
        report: { ...this.get(job.id).report, durationsMs: durations },
      });
    }
  }

  private async download(job: ImportJob, signal: AbortSignal): Promise<ImportJob> {
    const settings = this.deps.settings();
    if (job.path) {
      const r = await hashLocalFile(job.path, settings.IMPORT_MAX_BYTES, (done, total) =>
        this.progress(job.id, { bytesDone: done, bytesTotal: total }),
      );
      return this.update(job.id, {
        step: 'downloaded',
        stagedPath: job.path,
        contentHash: r.sha256,
        bytesDone: r.bytes,
        bytesTotal: r.bytes,
      });
    }
    const { mkdir } = await import('node:fs/promises');
    const stagingDir = join(this.deps.dataDir(), 'staging');
    try {
      await mkdir(stagingDir, { recursive: true });
    } catch (err) {
      throw new AppError('IMPORT_DISK', `Cannot create the staging folder ${stagingDir}: ${errorMessage(err)}`, { status: 507 });
    }
    const dest = join(stagingDir, `${job.id}.download`);
    const r = await downloadToFile(job.url as string, dest, {
      maxBytes: settings.IMPORT_MAX_BYTES,
      stallTimeoutMs: settings.IMPORT_TIMEOUT_SECONDS * 1000,
      attempts: settings.IMPORT_DOWNLOAD_ATTEMPTS,
      signal,
      // A URL that came in over the network (/gex_history_url) may only reach public addresses.
      publicOnly: job.origin === 'webhook' && !settings.WEBHOOK_ALLOW_PRIVATE_URLS,
      clock: this.clock,
      onProgress: (done, total) => this.progress(job.id, { bytesDone: done, bytesTotal: total }),
      onRetry: (err, attempt, delayMs) =>
        this.deps.logger.warn('download failed; retrying', { jobId: job.id, attempt, delayMs, error: err as Error }),
    });
    return this.update(job.id, {
      step: 'downloaded',
      stagedPath: dest,
      contentHash: r.sha256,
      bytesDone: r.bytes,
      bytesTotal: r.bytes,
    });
  }

  private async cleanupFiles(job: ImportJob, partsDir: string): Promise<void> {
    await rm(partsDir, { recursive: true, force: true }).catch(() => undefined);
    if (job.url) await rm(join(this.deps.dataDir(), 'staging', `${job.id}.download`), { force: true }).catch(() => undefined);
  }

  private throwIfAborted(signal: AbortSignal): void {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new AppError('IMPORT_CANCELLED', 'Cancelled');
  }

  private progress(id: string, patch: JobPatch): void {
    const now = Date.now();
    if (now - (this.lastEmit.get(id) ?? 0) < PROGRESS_INTERVAL_MS) return;
    this.lastEmit.set(id, now);
    this.update(id, patch);
  }

  private update(id: string, patch: JobPatch): ImportJob {
    const job = this.jobs.update(id, patch, new Date(this.clock.now()));
    this.deps.onJob?.(job);
    return job;
  }

  private finish(id: string, state: JobState, patch: JobPatch): ImportJob {
    return this.update(id, { ...patch, state, finishedAt: this.nowIso() });
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
