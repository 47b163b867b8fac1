/**
 * The rejected log: every refused request (auth, size, content type, schema, rate, conflict) with
 * the reason. Written in batches off the answer path (a flood of junk must not slow good events)
 * and capped so it cannot fill the disk.
 */
import type { RejectedRequest } from '../api/webhooks';
import { errorMessage, type Logger } from '../platform';
import type { JournalDb } from '../storage';
import type { FieldIssue } from './payloads';

export interface RejectedEntry {
  receivedAt: number;
  route: string;
  source: string | null;
  remote: string | null;
  status: number;
  code: string;
  message: string;
  issues: FieldIssue[];
  contentType: string | null;
  bodySize: number;
  bodyExcerpt: string;
}

const KEEP = 50_000;
const EXCERPT = 2048;

export class RejectedLog {
  private queue: RejectedEntry[] = [];
  private scheduled = false;
  private sinceStart = 0;
  private writesSincePrune = 0;

  constructor(
    private readonly db: JournalDb,
    private readonly logger: Logger,
  ) {}

  get count(): number {
    return this.sinceStart;
  }

  record(entry: RejectedEntry): void {
    this.sinceStart++;
    if (this.queue.length > 10_000) return; // under a flood keep the count, drop the detail
    this.queue.push({ ...entry, bodyExcerpt: entry.bodyExcerpt.slice(0, EXCERPT) });
    if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.flush(), 20).unref?.();
    }
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0 || !this.db.open) return;
    try {
      const stmt = this.db.prepare(`INSERT INTO webhook_rejected
        (received_at, route, source, remote, status, code, message, issues, content_type, body_size, body_excerpt)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      this.db.transaction(() => {
        for (const e of batch) {
          stmt.run(
            e.receivedAt,
            e.route.slice(0, 500),
            e.source,
            e.remote,
            e.status,
            e.code,
            e.message.slice(0, 2000),
            JSON.stringify(e.issues),
            e.contentType?.slice(0, 200) ?? null,
            e.bodySize,
            e.bodyExcerpt,
          );
        }
      })();
      this.writesSincePrune += batch.length;
      if (this.writesSincePrune > 5_000) {
        this.writesSincePrune = 0;
        this.db.prepare('DELETE FROM webhook_rejected WHERE id <= (SELECT max(id) FROM webhook_rejected) - ?').run(KEEP);
      }
    } catch (err) {
      this.logger.warn('could not write the rejected log', { error: errorMessage(err), dropped: batch.length });
    }
  }

  total(): number {
    // Rows are only pruned from the low end, so ids are contiguous: no full count needed.
    const r = this.db.prepare('SELECT max(id) - min(id) + 1 AS n FROM webhook_rejected').get() as { n: number | null };
    return r.n ?? 0;
  }

  list(filter: { route?: string; before?: number; limit: number }): { items: RejectedRequest[]; nextBefore: number | null } {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.route) {
      where.push('route LIKE ?');
      params.push(`${filter.route}%`);
    }
    if (filter.before !== undefined) {
      where.push('id < ?');
      params.push(filter.before);
    }
    const rows = this.db
      .prepare(`SELECT * FROM webhook_rejected ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...params, filter.limit + 1) as Record<string, unknown>[];
    const more = rows.length > filter.limit;
    const items = rows.slice(0, filter.limit).map(
      (r): RejectedRequest => ({
        id: r.id as number,
        receivedAt: new Date(r.received_at as number).toISOString(),
        route: r.route as string,
        source: (r.source as string | null) ?? null,
        remote: (r.remote as string | null) ?? null,
        status: r.status as number,
        code: r.code as string,
        message: r.message as string,
        issues: safeJson(r.issues as string),
        contentType: (r.content_type as string | null) ?? null,
        bodySize: r.body_size as number,
        bodyExcerpt: r.body_excerpt as string,
      }),
    );
    return { items, nextBefore: more ? items[items.length - 1].id : null };
  }
}

function safeJson(s: string): FieldIssue[] {
  try {
    const v = JSON.parse(s);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
