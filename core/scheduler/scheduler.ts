/**
 * Fires the pipeline on WORKFLOW_SCHEDULE in WORKFLOW_TIMEZONE. With the system clock node-cron does
 * the firing; with an injected clock (tests) a cron-parser loop on `clock.sleep` does, so schedules
 * are tested without waiting. Next run times always come from cron-parser. A fire time that passed
 * while the app was closed is recorded and announced as missed, never run late.
 */
import { CronExpressionParser } from 'cron-parser';
import cron, { type ScheduledTask } from 'node-cron';
import { z } from 'zod';
import { epochDay, marketHolidays } from '../calendar';
import { cronProblem, isValidTimeZone, type Settings } from '../config';
import { AppError, type Clock, errorMessage, type Logger, systemClock } from '../platform';
import type { JournalDb } from '../storage';

export interface MissedRun {
  id: number;
  expectedAt: string;
  detectedAt: string;
}

export interface SchedulerStatus {
  workflow: string;
  expression: string;
  timezone: string;
  paused: boolean;
  active: boolean;
  nextRuns: string[];
  lastFireAt: string | null;
  lastResult: {
    at: string;
    outcome: 'started' | 'skipped' | 'refused' | 'failed';
    runId: string | null;
    message: string;
  } | null;
  /** WORKFLOW_SKIP_HOLIDAYS: fire times on NYSE holidays are skipped (and left out of nextRuns). */
  skipsHolidays: boolean;
  missed: MissedRun[];
  engine: 'node-cron' | 'clock';
}

export interface SchedulerDeps {
  workflow: string;
  db: JournalDb;
  settings: () => Settings;
  onSettingsChange: (listener: (settings: Settings, changed: string[]) => void) => () => void;
  updateSettings: (patch: Partial<Record<keyof Settings, unknown>>) => void;
  /** Starts a scheduled run; returns its id, or throws (e.g. a run is already in progress). */
  fire: (expectedAt: number) => string;
  clock: Clock;
  logger: Logger;
  notify?: (notice: { level: 'info' | 'warn' | 'error'; title: string; message: string; link?: string }) => void;
  onStatus?: (status: SchedulerStatus) => void;
  heartbeatMs?: number;
}

const NEW_YORK_DATE = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** The New York date (YYYY-MM-DD) of `t` when that date is an NYSE full-day holiday, else null. */
export function marketHolidayAt(t: number): string | null {
  const ymd = NEW_YORK_DATE.format(t);
  const [y, m, d] = ymd.split('-').map(Number);
  return marketHolidays(y).has(epochDay(y, m, d)) ? ymd : null;
}

/**
 * The next `count` fire times after `after` (epoch ms), or an error naming the problem; with `skipHolidays`,
 * without the ones on NYSE holidays (as the scheduler skips them).
 */
export function nextRunTimes(
  expression: string,
  timezone: string,
  after: number,
  count: number,
  options: { skipHolidays?: boolean } = {},
): number[] {
  if (!isValidTimeZone(timezone))
    throw new AppError('BAD_SCHEDULE', `Time zone "${timezone}" is not an IANA time zone such as America/New_York`, {
      status: 400,
    });
  const problem = cronProblem(expression, timezone);
  if (problem) throw new AppError('BAD_SCHEDULE', `Schedule "${expression}" refused: ${problem}`, { status: 400 });
  return cronTimes(expression, timezone, after, { count, skipHolidays: options.skipHolidays });
}

/**
 * Fire times after `after` (up to `count`, or up to `until`), as node-cron fires them: cron-parser moves a wall-clock
 * time that a spring-forward skips (02:30 in New York on the second Sunday of March) to 03:30, node-cron skips that
 * day; so times whose wall-clock hour and minute the expression does not name are dropped.
 */
function cronTimes(
  expression: string,
  timezone: string,
  after: number,
  limit: { count?: number; until?: number; skipHolidays?: boolean },
): number[] {
  const it = CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(after) });
  const { hour, minute } = it.fields;
  const wall = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });
  const named = (t: number) => {
    const parts = wall.formatToParts(t);
    const h = Number(parts.find((p) => p.type === 'hour')?.value);
    const m = Number(parts.find((p) => p.type === 'minute')?.value);
    return (hour.values as number[]).includes(h) && (minute.values as number[]).includes(m);
  };
  const out: number[] = [];
  const count = limit.count ?? 50;
  // A bounded look-ahead: an expression that names only skipped times still ends.
  for (let i = 0; i < count * 4 + 8 && out.length < count && it.hasNext(); i++) {
    const t = it.next().getTime();
    if (limit.until !== undefined && t > limit.until) break;
    if (named(t) && !(limit.skipHolidays && marketHolidayAt(t))) out.push(t);
  }
  return out;
}

const SCHEDULE_SETTINGS = ['WORKFLOW_SCHEDULE', 'WORKFLOW_TIMEZONE', 'WORKFLOW_PAUSED', 'WORKFLOW_SKIP_HOLIDAYS'];

export class WorkflowScheduler {
  private readonly deps: SchedulerDeps;
  private readonly logger: Logger;
  private task: ScheduledTask | null = null;
  private generation = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private offSettings: (() => void) | null = null;
  private lastResult: SchedulerStatus['lastResult'] = null;
  private readonly useNodeCron: boolean;

  constructor(deps: SchedulerDeps) {
    this.deps = deps;
    this.logger = deps.logger.child({ component: 'scheduler' });
    this.useNodeCron = deps.clock === systemClock;
  }

  async start(): Promise<void> {
    this.reportMissed();
    this.touch();
    this.arm();
    this.offSettings = this.deps.onSettingsChange((_s, changed) => {
      if (changed.some((k) => SCHEDULE_SETTINGS.includes(k))) {
        this.arm();
        this.announce();
      }
    });
    if (this.useNodeCron) {
      this.heartbeat = setInterval(() => this.touch(), this.deps.heartbeatMs ?? 60_000);
      this.heartbeat.unref?.();
    }
  }

  async stop(): Promise<void> {
    this.offSettings?.();
    this.offSettings = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.disarm();
    this.touch();
  }

  status(): SchedulerStatus {
    const s = this.deps.settings();
    const state = this.state();
    let nextRuns: string[] = [];
    if (!s.WORKFLOW_PAUSED) {
      try {
        nextRuns = nextRunTimes(s.WORKFLOW_SCHEDULE, s.WORKFLOW_TIMEZONE, this.deps.clock.now(), 5, {
          skipHolidays: s.WORKFLOW_SKIP_HOLIDAYS,
        }).map((t) => new Date(t).toISOString());
      } catch {
        nextRuns = [];
      }
    }
    const missed = (
      this.deps.db
        .prepare(
          'SELECT id, expected_at, detected_at FROM scheduler_missed WHERE workflow = ? ORDER BY expected_at DESC LIMIT 20',
        )
        .all(this.deps.workflow) as { id: number; expected_at: string; detected_at: string }[]
    ).map((m) => ({ id: m.id, expectedAt: m.expected_at, detectedAt: m.detected_at }));
    return {
      workflow: this.deps.workflow,
      expression: s.WORKFLOW_SCHEDULE,
      timezone: s.WORKFLOW_TIMEZONE,
      paused: s.WORKFLOW_PAUSED,
      active: this.generation > 0 && !s.WORKFLOW_PAUSED && (this.task !== null || !this.useNodeCron),
      nextRuns,
      lastFireAt: state.last_fire_at,
      lastResult: this.lastResult ?? storedResult(state.last_result),
      missed,
      engine: this.useNodeCron ? 'node-cron' : 'clock',
      skipsHolidays: s.WORKFLOW_SKIP_HOLIDAYS,
    };
  }

  pause(): SchedulerStatus {
    this.deps.updateSettings({ WORKFLOW_PAUSED: true });
    return this.status();
  }

  resume(): SchedulerStatus {
    // Resuming is not a reason to run what was skipped while paused: start counting from now.
    this.touch();
    this.deps.updateSettings({ WORKFLOW_PAUSED: false });
    return this.status();
  }

  setSchedule(expression: string, timezone?: string): SchedulerStatus {
    const tz = timezone ?? this.deps.settings().WORKFLOW_TIMEZONE;
    nextRunTimes(expression, tz, this.deps.clock.now(), 1); // refuses a bad time zone or expression, naming it
    this.deps.updateSettings({ WORKFLOW_SCHEDULE: expression.trim(), WORKFLOW_TIMEZONE: tz });
    return this.status();
  }

  /** (Re)arms the timer for the current settings; a paused schedule stays disarmed. */
  private arm(): void {
    this.disarm();
    const s = this.deps.settings();
    if (s.WORKFLOW_PAUSED) {
      this.logger.info('schedule paused', { expression: s.WORKFLOW_SCHEDULE });
      return;
    }
    const problem = cronProblem(s.WORKFLOW_SCHEDULE, s.WORKFLOW_TIMEZONE);
    if (problem) {
      this.logger.error('schedule not armed', { expression: s.WORKFLOW_SCHEDULE, problem });
      return;
    }
    const generation = ++this.generation;
    if (this.useNodeCron) {
      try {
        this.task = cron.schedule(s.WORKFLOW_SCHEDULE, (ctx) => this.fire(ctx.date?.getTime?.() ?? Date.now()), {
          timezone: s.WORKFLOW_TIMEZONE,
          name: `workflow:${this.deps.workflow}`,
          noOverlap: true,
        });
      } catch (err) {
        // Whatever node-cron refuses leaves the schedule disarmed (status: not active), never the app unable to start.
        this.logger.error('schedule not armed', { expression: s.WORKFLOW_SCHEDULE, problem: errorMessage(err) });
        return;
      }
    } else {
      void this.clockLoop(generation, s.WORKFLOW_SCHEDULE, s.WORKFLOW_TIMEZONE);
    }
    this.logger.info('schedule armed', {
      expression: s.WORKFLOW_SCHEDULE,
      timezone: s.WORKFLOW_TIMEZONE,
      engine: this.useNodeCron ? 'node-cron' : 'clock',
    });
  }

  private disarm(): void {
    this.generation++;
    if (this.task) {
      void Promise.resolve(this.task.destroy()).catch(() => undefined);
      this.task = null;
    }
  }

  private async clockLoop(generation: number, expression: string, timezone: string): Promise<void> {
    const { clock } = this.deps;
    while (generation === this.generation) {
      const [next] = nextRunTimes(expression, timezone, clock.now(), 1);
      if (next === undefined) return; // only times that never exist on the wall clock
      await clock.sleep(Math.max(0, next - clock.now()));
      if (generation !== this.generation) return;
      this.fire(next);
    }
  }

  private fire(expectedAt: number): void {
    const at = new Date(this.deps.clock.now()).toISOString();
    this.deps.db
      .prepare(
        `INSERT INTO scheduler_state (workflow, last_fire_at, last_alive_at) VALUES (?, ?, ?)
         ON CONFLICT (workflow) DO UPDATE SET last_fire_at = excluded.last_fire_at, last_alive_at = excluded.last_alive_at`,
      )
      .run(this.deps.workflow, new Date(expectedAt).toISOString(), at);
    const holiday = this.deps.settings().WORKFLOW_SKIP_HOLIDAYS ? marketHolidayAt(expectedAt) : null;
    if (holiday) {
      // Both engines fire on every time of the expression; the skip is decided (and shown) here.
      const message = `skipped: ${holiday} is an NYSE holiday, the market is closed (WORKFLOW_SKIP_HOLIDAYS)`;
      this.lastResult = { at, outcome: 'skipped', runId: null, message };
      this.logger.info('scheduled run skipped on a market holiday', { holiday });
    } else this.startRun(expectedAt, at);
    this.deps.db
      .prepare('UPDATE scheduler_state SET last_result = ? WHERE workflow = ?')
      .run(JSON.stringify(this.lastResult), this.deps.workflow);
    this.announce();
  }

  private startRun(expectedAt: number, at: string): void {
    try {
      const runId = this.deps.fire(expectedAt);
      this.lastResult = { at, outcome: 'started', runId, message: `scheduled run ${runId} started` };
      this.logger.info('scheduled run started', { runId, expectedAt: new Date(expectedAt).toISOString() });
    } catch (err) {
      const refused = (err as AppError).code === 'RUN_IN_PROGRESS';
      this.lastResult = { at, outcome: refused ? 'refused' : 'failed', runId: null, message: errorMessage(err) };
      this.logger.warn('scheduled run not started', { error: errorMessage(err) });
      this.deps.notify?.({ level: 'warn', title: 'Scheduled run not started', message: errorMessage(err), link: '#/runs' });
    }
  }

  private announce(): void {
    try {
      this.deps.onStatus?.(this.status());
    } catch (err) {
      this.logger.warn('scheduler status listener failed', { error: errorMessage(err) });
    }
  }

  private state(): { last_fire_at: string | null; last_alive_at: string | null; last_result: string | null } {
    return (
      (this.deps.db
        .prepare('SELECT last_fire_at, last_alive_at, last_result FROM scheduler_state WHERE workflow = ?')
        .get(this.deps.workflow) as
        | { last_fire_at: string | null; last_alive_at: string | null; last_result: string | null }
        | undefined) ?? {
        last_fire_at: null,
        last_alive_at: null,
        last_result: null,
      }
    );
  }

  /** Records that the app was up (and the schedule observed) until now. */
  private touch(): void {
    this.deps.db
      .prepare(
        `INSERT INTO scheduler_state (workflow, last_alive_at) VALUES (?, ?)
         ON CONFLICT (workflow) DO UPDATE SET last_alive_at = excluded.last_alive_at`,
      )
      .run(this.deps.workflow, new Date(this.deps.clock.now()).toISOString());
  }

  /** Fire times between the last moment the app was up and now are reported, not run. */
  private reportMissed(): MissedRun[] {
    const s = this.deps.settings();
    const state = this.state();
    const since = [state.last_alive_at, state.last_fire_at].filter((x): x is string => !!x).map(Date.parse);
    if (since.length === 0 || s.WORKFLOW_PAUSED || cronProblem(s.WORKFLOW_SCHEDULE, s.WORKFLOW_TIMEZONE)) return [];
    const from = Math.max(...since);
    const now = this.deps.clock.now();
    const missedTimes = cronTimes(s.WORKFLOW_SCHEDULE, s.WORKFLOW_TIMEZONE, from, {
      count: 50,
      until: now,
      skipHolidays: s.WORKFLOW_SKIP_HOLIDAYS,
    });
    if (missedTimes.length === 0) return [];
    const detectedAt = new Date(now).toISOString();
    const insert = this.deps.db.prepare('INSERT INTO scheduler_missed (workflow, expected_at, detected_at) VALUES (?, ?, ?)');
    const out: MissedRun[] = [];
    this.deps.db.transaction(() => {
      for (const t of missedTimes) {
        const info = insert.run(this.deps.workflow, new Date(t).toISOString(), detectedAt);
        out.push({ id: Number(info.lastInsertRowid), expectedAt: new Date(t).toISOString(), detectedAt });
      }
    })();
    const last = new Date(missedTimes[missedTimes.length - 1]).toISOString();
    const message =
      missedTimes.length === 1
        ? `The scheduled run due at ${last} was missed while Marketdesk was closed; it was not run. Use "Trigger now" to run it.`
        : `${missedTimes.length} scheduled runs (the last due at ${last}) were missed while Marketdesk was closed; none were run. Use "Trigger now" to run one.`;
    this.logger.warn('scheduled runs missed while closed', { count: missedTimes.length, last });
    this.deps.notify?.({ level: 'warn', title: 'Scheduled run missed', message, link: '#/runs' });
    return out;
  }
}

const lastResultSchema = z.object({
  at: z.string(),
  outcome: z.enum(['started', 'skipped', 'refused', 'failed']),
  runId: z.string().nullable(),
  message: z.string(),
});

/** The last fire's outcome as stored by an earlier process (null if none or unreadable). */
function storedResult(text: string | null): SchedulerStatus['lastResult'] {
  if (!text) return null;
  try {
    const parsed = lastResultSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
