/**
 * RunTracker: the journal's record of every pipeline run — params, tags, task attempts, metrics,
 * structured logs and the artifact index. Log lines are buffered and written in one transaction
 * at task boundaries (the journal fsyncs every commit), warnings and errors at once.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, Logger, LogLevel } from '../platform';
import { AppError } from '../platform';
import type { JournalDb } from '../storage';
import { compileRunSearch, parseRunSearch } from './search';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export type TaskStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'interrupted';
export type RunTrigger = 'manual' | 'scheduled' | 'replay';

export interface TaskRunRecord {
  task: string;
  attempt: number;
  status: TaskStatus;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  error: string | null;
}

export interface RunSummary {
  id: string;
  workflow: string;
  status: RunStatus;
  trigger: RunTrigger;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  params: Record<string, unknown>;
  tags: Record<string, string>;
  error: string | null;
  replayOf: string | null;
  /** Latest attempt of each task, in the order the tasks started. */
  tasks: { task: string; status: TaskStatus; attempts: number }[];
}

export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  time: string;
}

export interface RunDetail extends RunSummary {
  attempts: TaskRunRecord[];
  metrics: MetricPoint[];
  /** Latest value of every metric. */
  latestMetrics: Record<string, number>;
  outputs: Record<string, unknown>;
}

export interface LogEntry {
  id: number;
  runId: string;
  time: string;
  level: LogLevel;
  task: string | null;
  attempt: number | null;
  message: string;
  fields: Record<string, unknown> | null;
}

export interface LogFilter {
  task?: string;
  attempt?: number;
  /** Least severe level included. */
  level?: LogLevel;
  text?: string;
  afterId?: number;
  limit?: number;
}

export type RunEvent =
  | { kind: 'updated'; runId: string; status: RunStatus; task?: string; taskStatus?: TaskStatus; attempt?: number }
  | { kind: 'log'; entry: LogEntry };

interface RunRow {
  id: string;
  workflow: string;
  status: RunStatus;
  trigger: RunTrigger;
  started_at: string;
  ended_at: string | null;
  params: string;
  tags: string;
  outputs: string;
  error: string | null;
  replay_of: string | null;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export class RunTracker {
  private readonly db: JournalDb;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly listeners = new Set<(event: RunEvent) => void>();
  private pendingLogs: Omit<LogEntry, 'id'>[] = [];
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(db: JournalDb, options: { clock: Clock; logger: Logger }) {
    this.db = db;
    this.clock = options.clock;
    this.logger = options.logger;
  }

  onEvent(listener: (event: RunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: RunEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.warn('run event listener failed', { error: err as Error });
      }
    }
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /**
   * Runs (and their tasks) left "running" by a process that ended are marked interrupted. They end at their
   * last recorded sign of life (a log line, a task start or end, a metric), not at this start-up: a run that
   * died 4 s in must not read as ten minutes of extract because the app was restarted ten minutes later.
   */
  markInterrupted(): string[] {
    const ids = (this.db.prepare("SELECT id FROM runs WHERE status = 'running'").all() as { id: string }[]).map((r) => r.id);
    if (ids.length === 0) return [];
    const lastSign = this.db.prepare(
      `SELECT max(t) FROM (
         SELECT started_at AS t FROM runs WHERE id = @id
         UNION ALL SELECT max(time) FROM run_logs WHERE run_id = @id
         UNION ALL SELECT max(coalesce(ended_at, started_at)) FROM run_tasks WHERE run_id = @id
         UNION ALL SELECT max(time) FROM run_metrics WHERE run_id = @id)`,
    );
    const now = this.nowIso();
    this.db.transaction(() => {
      for (const id of ids) {
        const last = (lastSign.pluck().get({ id }) as string | null) ?? now;
        const at = [last, now].sort()[0]; // ISO times: the earlier one (a clock set back cannot end it later)
        this.db
          .prepare(
            "UPDATE run_tasks SET status = 'interrupted', ended_at = ?, error = 'the app stopped while this task ran' WHERE run_id = ? AND status = 'running'",
          )
          .run(at, id);
        this.db
          .prepare("UPDATE runs SET status = 'interrupted', ended_at = ?, error = ? WHERE id = ? AND status = 'running'")
          .run(at, `the app stopped while this run was in progress (last recorded activity ${at}; found at ${now})`, id);
      }
    })();
    return ids;
  }

  /**
   * A run by its id, or by a part of it that names one run only: the random tail (`17976e`) or the start of
   * the id (`20261123-0722`), as a trader copies them from a table or a log line.
   */
  private runRow(idOrShort: string): RunRow {
    const exact = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(idOrShort) as RunRow | undefined;
    if (exact) return exact;
    if (idOrShort.length < 4 || !/^[A-Za-z0-9-]+$/.test(idOrShort)) throw notFound(idOrShort);
    const matches = this.db
      .prepare("SELECT * FROM runs WHERE id LIKE ? || '%' OR id LIKE '%' || ? LIMIT 6")
      .all(idOrShort, idOrShort) as RunRow[];
    if (matches.length === 1) return matches[0];
    if (matches.length === 0) throw notFound(idOrShort);
    throw new AppError(
      'AMBIGUOUS_RUN_ID',
      `"${idOrShort}" matches several runs (${matches
        .slice(0, 5)
        .map((r) => r.id)
        .join(', ')}${matches.length > 5 ? ', …' : ''}): give more of the id`,
      { status: 400 },
    );
  }

  newRunId(): string {
    const d = new Date(this.clock.now());
    const stamp = d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return `${stamp}-${randomBytes(3).toString('hex')}`;
  }

  startRun(input: {
    workflow: string;
    trigger: RunTrigger;
    params: Record<string, unknown>;
    tags: Record<string, string>;
    replayOf?: string | null;
  }): string {
    const id = this.newRunId();
    this.db
      .prepare(
        "INSERT INTO runs (id, workflow, status, trigger, started_at, params, tags, replay_of) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
      )
      .run(
        id,
        input.workflow,
        input.trigger,
        this.nowIso(),
        JSON.stringify(input.params),
        JSON.stringify(input.tags),
        input.replayOf ?? null,
      );
    this.emit({ kind: 'updated', runId: id, status: 'running' });
    return id;
  }

  /** Merges tags (values are strings, as in MLflow). */
  setTags(runId: string, tags: Record<string, string>): void {
    const row = this.db.prepare('SELECT tags FROM runs WHERE id = ?').get(runId) as { tags: string } | undefined;
    if (!row) throw notFound(runId);
    this.db.prepare('UPDATE runs SET tags = ? WHERE id = ?').run(JSON.stringify({ ...JSON.parse(row.tags), ...tags }), runId);
  }

  setOutputs(runId: string, outputs: Record<string, unknown>): void {
    this.db.prepare('UPDATE runs SET outputs = ? WHERE id = ?').run(JSON.stringify(outputs), runId);
  }

  finishRun(runId: string, status: Exclude<RunStatus, 'running'>, error: string | null = null): void {
    this.flush();
    this.db
      .prepare("UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ? AND status = 'running'")
      .run(status, this.nowIso(), error, runId);
    this.emit({ kind: 'updated', runId, status });
  }

  startTask(runId: string, task: string, attempt: number): void {
    this.flush();
    this.db
      .prepare("INSERT INTO run_tasks (run_id, task, attempt, status, started_at) VALUES (?, ?, ?, 'running', ?)")
      .run(runId, task, attempt, this.nowIso());
    this.emit({ kind: 'updated', runId, status: 'running', task, taskStatus: 'running', attempt });
  }

  finishTask(
    runId: string,
    task: string,
    attempt: number,
    status: Exclude<TaskStatus, 'running'>,
    error: string | null = null,
  ): void {
    this.flush();
    this.db
      .prepare('UPDATE run_tasks SET status = ?, ended_at = ?, error = ? WHERE run_id = ? AND task = ? AND attempt = ?')
      .run(status, this.nowIso(), error, runId, task, attempt);
    this.emit({ kind: 'updated', runId, status: 'running', task, taskStatus: status, attempt });
  }

  /** Records a task that never ran (an earlier one failed): shown greyed in the grid. */
  skipTask(runId: string, task: string): void {
    const now = this.nowIso();
    this.db
      .prepare(
        "INSERT OR IGNORE INTO run_tasks (run_id, task, attempt, status, started_at, ended_at) VALUES (?, ?, 1, 'skipped', ?, ?)",
      )
      .run(runId, task, now, now);
  }

  metric(runId: string, key: string, value: number, step = 0): void {
    this.db
      .prepare('INSERT INTO run_metrics (run_id, key, value, step, time) VALUES (?, ?, ?, ?, ?)')
      .run(runId, key, Number.isFinite(value) ? value : 0, step, this.nowIso());
  }

  metrics(runId: string, values: Record<string, number>, step = 0): void {
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(values)) this.metric(runId, k, v, step);
    })();
  }

  log(entry: Omit<LogEntry, 'id' | 'time'> & { time?: string }): void {
    const full = { ...entry, time: entry.time ?? this.nowIso() };
    this.pendingLogs.push(full);
    if (LEVEL_RANK[entry.level] >= LEVEL_RANK.warn || this.pendingLogs.length >= 200) this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), 250);
      this.flushTimer.unref?.();
    }
  }

  /** Writes buffered log lines in one transaction and announces them. */
  flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.pendingLogs.length === 0) return;
    const batch = this.pendingLogs;
    this.pendingLogs = [];
    const insert = this.db.prepare(
      'INSERT INTO run_logs (run_id, time, level, task, attempt, message, fields) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const written: LogEntry[] = [];
    try {
      this.db.transaction(() => {
        for (const e of batch) {
          const info = insert.run(
            e.runId,
            e.time,
            e.level,
            e.task,
            e.attempt,
            e.message,
            e.fields ? JSON.stringify(e.fields, jsonSafe) : null,
          );
          written.push({ ...e, id: Number(info.lastInsertRowid) });
        }
      })();
    } catch (err) {
      this.logger.error('run log lines could not be written to the journal', { error: err as Error, lines: batch.length });
      return;
    }
    for (const entry of written) this.emit({ kind: 'log', entry });
  }

  recordArtifact(a: {
    runId: string;
    name: string;
    kind: string;
    path: string;
    size: number;
    checksum: string;
    status: 'stored' | 'spooled';
  }): number {
    const info = this.db
      .prepare(
        `INSERT INTO run_artifacts (run_id, name, kind, path, size, checksum, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, name) DO UPDATE SET kind = excluded.kind, path = excluded.path, size = excluded.size,
           checksum = excluded.checksum, status = excluded.status`,
      )
      .run(a.runId, a.name, a.kind, a.path, a.size, a.checksum, a.status, this.nowIso());
    return Number(info.lastInsertRowid);
  }

  /** The run currently in progress for a workflow, if any. */
  runningRun(workflow: string): string | null {
    const row = this.db.prepare("SELECT id FROM runs WHERE workflow = ? AND status = 'running' LIMIT 1").get(workflow) as
      | { id: string }
      | undefined;
    return row?.id ?? null;
  }

  list(options: { search?: string; workflow?: string; limit?: number; offset?: number } = {}): {
    runs: RunSummary[];
    total: number;
  } {
    const search = options.search?.trim() ? parseRunSearch(options.search) : { conditions: [] };
    const compiled = compileRunSearch(search);
    let where = compiled.where;
    const params: (string | number)[] = [...compiled.params];
    if (options.workflow) {
      where += ' AND r.workflow = ?';
      params.push(options.workflow);
    }
    const total = (this.db.prepare(`SELECT count(*) AS n FROM runs r WHERE ${where}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT r.* FROM runs r WHERE ${where} ORDER BY r.started_at DESC, r.rowid DESC LIMIT ? OFFSET ?`)
      .all(...params, options.limit ?? 100, options.offset ?? 0) as RunRow[];
    const tasks = this.tasksFor(rows.map((r) => r.id));
    return { runs: rows.map((r) => this.summary(r, tasks.get(r.id) ?? [])), total };
  }

  get(idOrShort: string): RunDetail {
    const row = this.runRow(idOrShort);
    const runId = row.id;
    const attempts = (
      this.db.prepare('SELECT * FROM run_tasks WHERE run_id = ? ORDER BY started_at, rowid').all(runId) as {
        task: string;
        attempt: number;
        status: TaskStatus;
        started_at: string;
        ended_at: string | null;
        error: string | null;
      }[]
    ).map((t) => ({
      task: t.task,
      attempt: t.attempt,
      status: t.status,
      startedAt: t.started_at,
      endedAt: t.ended_at,
      durationMs: t.ended_at ? Date.parse(t.ended_at) - Date.parse(t.started_at) : null,
      error: t.error,
    }));
    const metrics = this.db
      .prepare('SELECT key, value, step, time FROM run_metrics WHERE run_id = ? ORDER BY key, step, rowid')
      .all(runId) as MetricPoint[];
    const latestMetrics: Record<string, number> = {};
    for (const m of metrics) latestMetrics[m.key] = m.value;
    const tasks = this.tasksFor([runId]).get(runId) ?? [];
    return { ...this.summary(row, tasks), attempts, metrics, latestMetrics, outputs: JSON.parse(row.outputs) };
  }

  logs(runId: string, filter: LogFilter = {}): LogEntry[] {
    const where = ['run_id = ?'];
    const params: (string | number)[] = [runId];
    if (filter.task) {
      where.push('task = ?');
      params.push(filter.task);
    }
    if (filter.attempt !== undefined) {
      where.push('attempt = ?');
      params.push(filter.attempt);
    }
    if (filter.level) {
      const levels = (Object.keys(LEVEL_RANK) as LogLevel[]).filter((l) => LEVEL_RANK[l] >= LEVEL_RANK[filter.level as LogLevel]);
      where.push(`level IN (${levels.map(() => '?').join(', ')})`);
      params.push(...levels);
    }
    if (filter.text) {
      where.push("(instr(lower(message), lower(?)) > 0 OR instr(lower(coalesce(fields, '')), lower(?)) > 0)");
      params.push(filter.text, filter.text);
    }
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      params.push(filter.afterId);
    }
    const rows = this.db
      .prepare(`SELECT * FROM run_logs WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
      .all(...params, filter.limit ?? 5000) as {
      id: number;
      run_id: string;
      time: string;
      level: LogLevel;
      task: string | null;
      attempt: number | null;
      message: string;
      fields: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      time: r.time,
      level: r.level,
      task: r.task,
      attempt: r.attempt,
      message: r.message,
      fields: r.fields ? JSON.parse(r.fields) : null,
    }));
  }

  artifacts(filter: { runId?: string; kind?: string; since?: string; until?: string; limit?: number } = {}) {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.runId) {
      where.push('run_id = ?');
      params.push(filter.runId);
    }
    if (filter.kind) {
      where.push('kind = ?');
      params.push(filter.kind);
    }
    if (filter.since) {
      where.push('created_at >= ?');
      params.push(filter.since);
    }
    if (filter.until) {
      // A day alone means the whole day: created_at holds times, and '2026-01-05T10:00…' > '2026-01-05'.
      where.push(filter.until.length === 10 ? "created_at < date(?, '+1 day')" : 'created_at <= ?');
      params.push(filter.until);
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM run_artifacts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`,
      )
      .all(...params, filter.limit ?? 500) as {
      id: number;
      run_id: string;
      name: string;
      kind: string;
      path: string;
      size: number;
      checksum: string;
      status: 'stored' | 'spooled';
      created_at: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      name: r.name,
      kind: r.kind,
      path: r.path,
      size: r.size,
      checksum: r.checksum,
      status: r.status,
      createdAt: r.created_at,
    }));
  }

  artifact(id: number) {
    const row = this.db.prepare('SELECT run_id FROM run_artifacts WHERE id = ?').get(id) as { run_id: string } | undefined;
    if (!row) throw new AppError('NOT_FOUND', `No artifact with id ${id}`, { status: 404 });
    const found = this.artifacts({ runId: row.run_id, limit: 10_000 }).find((a) => a.id === id);
    if (!found) throw new AppError('NOT_FOUND', `No artifact with id ${id}`, { status: 404 });
    return found;
  }

  spooledArtifacts() {
    return (this.db.prepare("SELECT id FROM run_artifacts WHERE status = 'spooled'").all() as { id: number }[]).map((r) =>
      this.artifact(r.id),
    );
  }

  updateArtifactLocation(id: number, path: string, status: 'stored' | 'spooled'): void {
    this.db.prepare('UPDATE run_artifacts SET path = ?, status = ? WHERE id = ?').run(path, status, id);
  }

  private tasksFor(runIds: string[]): Map<string, RunSummary['tasks']> {
    const out = new Map<string, RunSummary['tasks']>();
    if (runIds.length === 0) return out;
    const rows = this.db
      .prepare(
        `SELECT run_id, task, status, attempt FROM run_tasks WHERE run_id IN (${runIds.map(() => '?').join(', ')})
         ORDER BY run_id, started_at, rowid`,
      )
      .all(...runIds) as { run_id: string; task: string; status: TaskStatus; attempt: number }[];
    for (const r of rows) {
      const list = out.get(r.run_id) ?? [];
      const existing = list.find((t) => t.task === r.task);
      if (existing) {
        existing.status = r.status;
        existing.attempts = Math.max(existing.attempts, r.attempt);
      } else list.push({ task: r.task, status: r.status, attempts: r.attempt });
      out.set(r.run_id, list);
    }
    return out;
  }

  private summary(r: RunRow, tasks: RunSummary['tasks']): RunSummary {
    return {
      id: r.id,
      workflow: r.workflow,
      status: r.status,
      trigger: r.trigger,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      durationMs: r.ended_at ? Date.parse(r.ended_at) - Date.parse(r.started_at) : null,
      params: JSON.parse(r.params),
      tags: JSON.parse(r.tags),
      error: r.error,
      replayOf: r.replay_of,
      tasks,
    };
  }
}

/**
 * A run's logger: every line goes to the journal (for the Runs page) and to the app log.
 * Debug lines are kept only for verbose (debug-mode) runs.
 */
export class RunLog {
  constructor(
    private readonly tracker: RunTracker,
    private readonly runId: string,
    private readonly appLogger: Logger,
    private readonly verbose: boolean,
    private readonly context: { task: string | null; attempt: number | null } = { task: null, attempt: null },
  ) {}

  forTask(task: string, attempt: number): RunLog {
    return new RunLog(this.tracker, this.runId, this.appLogger, this.verbose, { task, attempt });
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    if (this.verbose) this.write('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.write('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.write('error', message, fields);
  }

  private write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.tracker.log({
      runId: this.runId,
      level,
      task: this.context.task,
      attempt: this.context.attempt,
      message,
      fields: fields ?? null,
    });
    this.appLogger.log(level === 'debug' && this.verbose ? 'info' : level, message, {
      runId: this.runId,
      task: this.context.task ?? undefined,
      attempt: this.context.attempt ?? undefined,
      ...fields,
    });
  }
}

function notFound(runId: string): AppError {
  return new AppError('NOT_FOUND', `No run with id ${runId}`, { status: 404 });
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} × ${(value as unknown as { length: number }).length}]`;
  return value;
}
