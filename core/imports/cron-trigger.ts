/**
 * A small cron-driven trigger for housekeeping (scheduled backups, scheduled integrity checks):
 * node-cron fires `fire()` on the expression read from settings, re-armed when it changes; an empty
 * expression means off. Overlapping fires are skipped, failures are logged, never thrown.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Settings } from '../config';
import { errorMessage, type Logger } from '../platform';

export interface CronTriggerDeps {
  name: string;
  expression: (s: Settings) => string;
  settings: () => Settings;
  onSettingsChange: (listener: (settings: Settings, changed: string[]) => void) => () => void;
  watch: string[];
  fire: () => Promise<unknown>;
  logger: Logger;
}

export class CronTrigger {
  private task: ScheduledTask | null = null;
  private off: (() => void) | null = null;
  private busy = false;

  constructor(private readonly deps: CronTriggerDeps) {}

  async start(): Promise<void> {
    this.arm();
    this.off = this.deps.onSettingsChange((_s, changed) => {
      if (changed.some((k) => this.deps.watch.includes(k))) this.arm();
    });
  }

  async stop(): Promise<void> {
    this.off?.();
    this.off = null;
    this.disarm();
  }

  private arm(): void {
    this.disarm();
    const s = this.deps.settings();
    const expr = this.deps.expression(s).trim();
    if (!expr) return;
    try {
      this.task = this.schedule(expr, s.WORKFLOW_TIMEZONE);
    } catch (err) {
      // A schedule node-cron refuses stays off and says so; it never stops the app from starting.
      this.deps.logger.error(`scheduled ${this.deps.name} not armed`, { expression: expr, problem: errorMessage(err) });
    }
  }

  private schedule(expr: string, timezone: string): ScheduledTask {
    return cron.schedule(
      expr,
      async () => {
        if (this.busy) return;
        this.busy = true;
        try {
          await this.deps.fire();
        } catch (err) {
          this.deps.logger.error(`scheduled ${this.deps.name} failed`, { error: err as Error });
        } finally {
          this.busy = false;
        }
      },
      { timezone, name: this.deps.name },
    );
  }

  private disarm(): void {
    if (this.task) {
      void this.task.stop();
      void this.task.destroy?.();
    }
    this.task = null;
  }
}
