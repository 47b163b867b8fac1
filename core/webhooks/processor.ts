/**
 * Moves inbox rows into the warehouse in batches: normalise → one warehouse transaction per batch
 * (appender + INSERT OR REPLACE on each table's key) → mark the rows done. A crash between the two
 * stores only means the batch is written again, which the keys make harmless. A batch that fails
 * is retried row by row so one bad event cannot hold back the rest; failing rows are retried with
 * backoff and parked as dead letters after `maxAttempts`.
 */
import { writeGexRows } from '../gex';
import { type BackoffPolicy, backoffDelay, type Clock, errorMessage, type Logger, yieldToLoop } from '../platform';
import type { Warehouse } from '../storage';
import { upsertRows } from '../storage/upsert';
import type { InboxRow, WebhookInbox } from './inbox';
import { emptyRows, normaliseRow, TABLES, type TableRows } from './normalise';

/** Events in the last HOT_MS mean "busy": batches are gathered for HOT_BATCH_DELAY_MS and the processor yields. */
const HOT_MS = 1000;
const HOT_BATCH_DELAY_MS = 500;
/**
 * Rows handled between two yields to the event loop (normalising, appending, marking done): each
 * slice is a pause of the ack path, so it is kept to about a millisecond.
 */
const SLICE = 50;

export interface ProcessorOptions {
  batchSize?: number;
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  /** How often due retries are looked for. */
  pollMs?: number;
}

export class WebhookProcessor {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private kickTimer: NodeJS.Timeout | null = null;
  private stopped = true;
  private lastActivity = 0;
  readonly stats = { batches: 0, processed: 0, failed: 0, dead: 0, lastBatchAt: 0, lastError: null as string | null };
  private readonly batchSize: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffPolicy;
  private readonly pollMs: number;

  constructor(
    private readonly inbox: WebhookInbox,
    private readonly warehouse: Warehouse,
    private readonly logger: Logger,
    private readonly clock: Clock,
    options: ProcessorOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoff = options.backoff ?? { baseMs: 1000, maxMs: 60_000, factor: 4, jitter: 0.2 };
    this.pollMs = options.pollMs ?? 1000;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref?.();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.kickTimer) clearTimeout(this.kickTimer);
    this.timer = null;
    this.kickTimer = null;
    await this.running;
  }

  /** Asks for a pass soon (coalesced: many commits → one pass). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.kickTimer) return;
    // Under a stream of events, gather them into larger batches (fixed costs per warehouse
    // transaction dominate small ones); when quiet, process almost at once.
    this.kickTimer = setTimeout(
      () => {
        this.kickTimer = null;
        void this.pass();
      },
      this.hot ? HOT_BATCH_DELAY_MS : 25,
    );
    this.kickTimer.unref?.();
  }

  /** Called on every inbox commit: while events keep arriving the processor yields to the ack path. */
  noteActivity(): void {
    this.lastActivity = Date.now();
  }

  private get hot(): boolean {
    return Date.now() - this.lastActivity < HOT_MS;
  }

  private pass(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          for (;;) {
            if (this.stopped) break;
            const started = Date.now();
            const n = await this.runBatch(this.clock.now());
            if (n < this.batchSize) break;
            // A backlog while events are arriving: keep to about a quarter of the time, so
            // acknowledging new events (the thing senders wait for) is never starved.
            if (this.hot) await new Promise((r) => setTimeout(r, Math.max(100, 3 * (Date.now() - started))));
          }
        } while (this.again && !this.stopped);
      } catch (err) {
        this.stats.lastError = errorMessage(err);
        this.logger.error('webhook processor pass failed', { error: errorMessage(err) });
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /**
   * Processes everything due by `now` (default: the clock's now), to completion. For tests and for
   * the replay action; safe to call while the background loop runs.
   */
  async drain(options: { now?: number } = {}): Promise<number> {
    await this.running;
    let total = 0;
    for (;;) {
      const n = await this.runBatch(options.now ?? this.clock.now());
      total += n;
      if (n < this.batchSize) return total;
    }
  }

  /** One batch; returns how many inbox rows it looked at. */
  private async runBatch(now: number): Promise<number> {
    const rows = this.inbox.due(now, this.batchSize);
    if (rows.length === 0) return 0;
    const out = emptyRows();
    const good: { row: InboxRow; table: string }[] = [];
    for (let i = 0; i < rows.length; i++) {
      // Give the event loop back now and then: acknowledging new events must not wait for us.
      if (i > 0 && i % SLICE === 0) await yieldToLoop();
      const row = rows[i];
      try {
        good.push({ row, table: normaliseInto(row, out) });
      } catch (err) {
        this.fail(row, errorMessage(err));
      }
    }
    if (good.length > 0) {
      try {
        await this.write(out);
        for (let i = 0; i < good.length; i += SLICE) {
          if (i > 0) await yieldToLoop();
          this.inbox.markDone(
            good.slice(i, i + SLICE).map((g) => ({ id: g.row.id, table: g.table })),
            this.clock.now(),
          );
        }
        this.stats.processed += good.length;
      } catch (err) {
        this.logger.warn('webhook batch failed; retrying row by row', { rows: good.length, error: errorMessage(err) });
        for (const g of good) await this.one(g.row);
      }
    }
    this.stats.batches++;
    this.stats.lastBatchAt = this.clock.now();
    return rows.length;
  }

  private async one(row: InboxRow): Promise<void> {
    try {
      const out = emptyRows();
      const table = normaliseInto(row, out);
      await this.write(out);
      this.inbox.markDone([{ id: row.id, table }], this.clock.now());
      this.stats.processed++;
    } catch (err) {
      this.fail(row, errorMessage(err));
    }
  }

  private fail(row: InboxRow, error: string): void {
    const attempts = row.attempts + 1;
    const dead = attempts >= this.maxAttempts;
    const next = dead ? null : this.clock.now() + backoffDelay(attempts, this.backoff);
    this.inbox.markFailed(row.id, error, attempts, next, dead);
    this.stats.failed++;
    if (dead) {
      this.stats.dead++;
      this.logger.warn('webhook event parked as a dead letter', { id: row.id, route: row.route, error });
    }
  }

  private async write(out: TableRows): Promise<void> {
    await this.warehouse.transaction(async (conn) => {
      for (const name of ['alerts', 'option_trades', 'flow_alerts', 'uw_events'] as const) {
        const t = TABLES[name];
        await upsertRows(conn, name, t.columns, out[name], { key: t.key, yieldEvery: SLICE * 2 });
      }
      if (out.gexSnapshots.length > 0 || out.gexStrikes.length > 0) {
        await writeGexRows(conn, { snapshots: out.gexSnapshots, strikes: out.gexStrikes }, { writtenAt: this.clock.now() });
      }
    });
  }
}

/**
 * A "send test event" row (source `test`) is normalised like any other — the check that the whole path works —
 * but its rows are dropped: a TEST ticker must not show up in the alerts, the GEX view or an export.
 */
function normaliseInto(row: InboxRow, out: TableRows): string {
  if (row.source !== 'test') return normaliseRow(row, out);
  return `${normaliseRow(row, emptyRows())} (test event: not stored)`;
}
