/**
 * WebhookInbox: every accepted event, raw, in the journal (SQLite WAL) before anything else
 * happens. Appends are GROUP COMMITTED: everything appended during one turn of the event loop
 * shares one transaction, and one fdatasync of the WAL (on the loop; on the libuv pool only for a
 * slow disk, see ON_LOOP_MAX_MS) covers every transaction committed before it started. Each
 * caller's promise resolves only after that sync — the durability of synchronous=FULL — so a 2xx
 * always means "on disk".
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { InboxStatus, WebhookEventDetail, WebhookEventSummary } from '../api/webhooks';
import { AppError, type Clock, errorMessage } from '../platform';
import type { JournalDb } from '../storage';
import { jsonNestingExceeds } from './payloads';

export interface InboxAppend {
  source: string;
  route: string;
  topic: string | null;
  symbol: string | null;
  headers: Record<string, string>;
  contentType: string | null;
  body: string;
  receivedAt: number;
  dedupeKey: string;
  contentHash: string;
  /** The key is unique by construction (random suffix): skip the duplicate lookup and the key index. */
  uniqueKey?: boolean;
  /** TradingView only: an earlier TradingView event with the same content hash inside this window is a duplicate. */
  windowMs?: number;
  /**
   * Runs inside the commit, right after the row is stored (e.g. queue a history import job); if it
   * throws, this event alone is rolled back and its caller gets the error.
   */
  withinCommit?: (inboxId: number) => { jobId?: string; created?: boolean };
  /**
   * Asked only when a stored event has the same key but another content hash: whether its raw body is the
   * same event after all (the hash is over one serialisation; a sender may re-serialise with keys reordered).
   */
  sameContent?: (storedBody: string) => boolean;
}

export interface InboxAppendResult {
  id: number;
  duplicate: boolean;
  /** For history imports: the import job id (the existing active job on a duplicate). */
  jobId?: string;
}

interface Pending {
  item: InboxAppend;
  resolve: (r: InboxAppendResult) => void;
  reject: (e: unknown) => void;
}

export interface InboxRow {
  id: number;
  source: string;
  route: string;
  topic: string | null;
  symbol: string | null;
  headers: string;
  content_type: string | null;
  body: string;
  received_at: number;
  dedupe_key: string;
  content_hash: string;
  status: InboxStatus;
  attempts: number;
  last_error: string | null;
  next_attempt_at: number | null;
  processed_at: number | null;
  target_table: string | null;
}

const MAX_BATCH = 4000;
/** Prior statuses of a row the processor works on, likeliest first (see `moveRow`). */
const WORK_FIRST: readonly InboxStatus[] = ['pending', 'failed', 'dead', 'done'];
/**
 * fsyncs of the WAL allowed in flight. At the limit, new events wait in memory (unacknowledged)
 * and are committed in one transaction when an fsync completes. Two let a group commit and sync
 * while the previous group's fsync is still running, instead of waiting a whole extra fsync
 * (measured ~10% more events/s than one at a time; more than two gained nothing).
 */
const MAX_FSYNCS_IN_FLIGHT = 2;
/** Unindexed keys that trigger an index pass right away (otherwise every INDEX_EVERY_MS). */
const INDEX_AT = 20_000;
/**
 * Classic group commit: the WAL sync runs right on the event loop (commit → fdatasync → answer;
 * whatever arrived meanwhile is the next group). Measured on the shared 2-core VM, handing the
 * sync to a libuv pool thread cost far more than the sync itself (waking the pool thread and
 * getting the callback back onto a busy loop: 4–8 ms round trips against 0.5–2 ms syncs; events/s
 * halved, p99 up ~1.8×). Only a disk slower than this (moving average) — a spinning disk, a
 * network volume — is synced on the pool so the loop keeps parsing meanwhile; a probe on the loop
 * every PROBE_EVERY_MS notices when the disk is fast again.
 */
const ON_LOOP_MAX_MS = 8;
/** WAL pages between automatic checkpoints of the journal (SQLite's default is 1000: 4 MiB). */
const CHECKPOINT_PAGES = 4000;
const PROBE_EVERY_MS = 250;
const INDEX_EVERY_MS = 100;
/** Keys per index pass: small passes keep each pause of the event loop short. */
const INDEX_SLICE = 2_000;

export class WebhookInbox {
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly commitListeners = new Set<(accepted: WebhookEventSummary[]) => void>();
  private readonly stmts: ReturnType<typeof prepare>;
  /** Commits so far and events per commit, for the bench and status (slowCommits: over 4 ms, e.g. a checkpoint). */
  readonly stats = {
    commits: 0,
    fsyncs: 0,
    loopSyncs: 0,
    fsyncMs: 0,
    commitMs: 0,
    appended: 0,
    duplicates: 0,
    conflicts: 0,
    commitMaxMs: 0,
    slowCommits: 0,
    slowCommitMs: 0,
    syncMaxMs: 0,
  };

  private syncGroup: ((failure?: AppError) => void)[] = [];
  /** Keys stored by the transaction being written (visible to later events of the same batch). */
  private readonly batchKeys = new Map<string, { id: number; hash: string }>();
  /** Keys committed but not yet in `webhook_dedupe` (in id order). */
  private readonly recentKeys = new Map<string, { id: number; hash: string }>();
  private recentUpto = 0;
  private indexTimer: NodeJS.Timeout | null = null;
  private readonly keyStmts: { find: Database.Statement; put: Database.Statement; mark: Database.Statement };
  private prunedStmt: Database.Statement | null = null;
  /**
   * Pending/failed/dead counts, counted once and then kept by every status change below: counting the work
   * index is O(backlog) — 17 ms at 78k pending, on the ack path once a second while events arrive.
   * null = count again (at start, and after any failed change).
   */
  private tally: Record<'pending' | 'failed' | 'dead', number> | null = null;
  private syncing = 0;
  private wal: number | null | undefined = undefined;
  private syncMode = 'FULL';
  private readonly syncStmts = new Map<string, Database.Statement>();
  private syncEwmaMs = 0;
  private lastLoopSync = 0;

  /** `walPath`: the journal's `-wal` file, fsynced once per group of commits. */
  constructor(
    private readonly db: JournalDb,
    private readonly clock: Clock,
    private readonly walPath?: string,
  ) {
    this.stmts = prepare(db, {
      find: (key) => this.batchKeys.get(key) ?? this.recentKeys.get(key) ?? this.lookupIndexed(key),
      add: (key, id, hash) => this.batchKeys.set(key, { id, hash }),
    });
    this.keyStmts = {
      find: db.prepare('SELECT inbox_id AS id, content_hash AS hash FROM webhook_dedupe WHERE key = ?'),
      put: db.prepare('INSERT OR IGNORE INTO webhook_dedupe (key, inbox_id, content_hash) VALUES (?, ?, ?)'),
      mark: db.prepare(
        "INSERT INTO webhook_meta (name, value) VALUES ('dedupe_indexed_upto', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
      ),
    };
    // Keys of events stored after the last index pass are only in the inbox: bring them back into memory.
    const upto =
      (db.prepare("SELECT value FROM webhook_meta WHERE name = 'dedupe_indexed_upto'").get() as { value: number } | undefined)
        ?.value ?? 0;
    const unindexed = db
      .prepare(
        "SELECT id, dedupe_key, content_hash FROM webhook_inbox WHERE id > ? AND dedupe_key NOT LIKE 'tv:%' AND dedupe_key NOT LIKE 'gexurl:%' ORDER BY id",
      )
      .all(upto) as { id: number; dedupe_key: string; content_hash: string }[];
    for (const r of unindexed) this.recentKeys.set(r.dedupe_key, { id: r.id, hash: r.content_hash });
    this.recentUpto = upto;
  }

  /** `PRAGMA synchronous` switch, prepared once (it runs twice per group commit). */
  private setSynchronous(mode: string): void {
    let stmt = this.syncStmts.get(mode);
    if (!stmt) {
      stmt = this.db.prepare(`PRAGMA synchronous = ${mode}`);
      this.syncStmts.set(mode, stmt);
    }
    stmt.run();
  }

  private lookupIndexed(key: string): { id: number; hash: string } | undefined {
    return this.keyStmts.find.get(key) as { id: number; hash: string } | undefined;
  }

  /**
   * Moves the keys of recently stored events into the on-disk key index (`webhook_dedupe`) in one
   * batch. Kept off the ack path: inserting random keys into a b-tree dirties a page per key, which
   * made every group commit (and its fsync) several times larger. Until indexed, keys live in memory
   * and are rebuilt from the inbox after a restart, so nothing depends on this commit's durability.
   */
  indexKeys(max = INDEX_SLICE): number {
    if (this.recentKeys.size === 0 || !this.db.open || this.db.inTransaction) return 0;
    const entries: [string, { id: number; hash: string }][] = [];
    let upto = this.recentUpto;
    for (const e of this.recentKeys) {
      entries.push(e);
      if (e[1].id > upto) upto = e[1].id;
      if (entries.length >= max) break;
    }
    // Sorted, the inserts walk the b-tree in order: each leaf page is visited once per pass.
    const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.setSynchronous('NORMAL');
    try {
      this.db.transaction(() => {
        for (const [key, v] of sorted) this.keyStmts.put.run(key, v.id, v.hash);
        this.keyStmts.mark.run(upto);
      })();
    } finally {
      this.setSynchronous(this.syncMode);
    }
    for (const [key] of entries) this.recentKeys.delete(key);
    this.recentUpto = upto;
    return entries.length;
  }

  /** Resolves after the event is committed (or found to be a duplicate); throws 409 / 503. */
  append(item: InboxAppend): Promise<InboxAppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      // While an fsync runs, arrivals wait here and are committed together when it completes.
      if (!this.scheduled && this.syncing < MAX_FSYNCS_IN_FLIGHT) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Called with the summaries of newly stored events after each commit. */
  onCommit(listener: (accepted: WebhookEventSummary[]) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.syncing >= MAX_FSYNCS_IN_FLIGHT) return;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      this.commit(batch);
    }
  }

  private commit(batch: Pending[]): void {
    const outcomes: (InboxAppendResult | AppError)[] = [];
    const accepted: WebhookEventSummary[] = [];
    let inserted = 0;
    let walFd: number | null = null;
    try {
      if (!this.db.open) throw new Error('journal is closed');
      // Nested in someone else's open transaction our commit would not be durable: refuse.
      if (this.db.inTransaction) throw new Error('journal is busy in another transaction');
      walFd = this.walFd();
      const t0 = performance.now();
      this.batchKeys.clear();
      if (walFd === null) inserted = this.stmts.tx(batch, outcomes, accepted);
      else {
        // The sync of the WAL is done below (syncSoon), before anyone is answered.
        this.setSynchronous('NORMAL');
        try {
          inserted = this.stmts.tx(batch, outcomes, accepted);
        } finally {
          this.setSynchronous(this.syncMode);
        }
      }
      const cms = performance.now() - t0;
      this.stats.commitMs += cms;
      if (cms > this.stats.commitMaxMs) this.stats.commitMaxMs = cms;
      if (cms > 4) {
        this.stats.slowCommits++;
        this.stats.slowCommitMs += cms;
      }
    } catch (err) {
      this.batchKeys.clear();
      this.tally = null;
      // The whole group was rolled back. If the store itself is fine, one event's row was the cause:
      // commit the others one by one, so only that event is refused.
      if (batch.length > 1 && this.db.open && !this.db.inTransaction) {
        for (const p of batch) this.commit([p]);
        return;
      }
      const e = new AppError('STORE_UNAVAILABLE', `The inbox could not store the event: ${errorMessage(err)}`, { status: 503 });
      for (const p of batch) p.reject(e);
      return;
    }
    for (const [k, v] of this.batchKeys) this.recentKeys.set(k, v);
    this.batchKeys.clear();
    if (this.tally) this.tally.pending += inserted;
    this.stats.commits++;
    const settle = (failure?: AppError) => {
      for (let i = 0; i < batch.length; i++) {
        const o = outcomes[i];
        if (o instanceof AppError) {
          this.stats.conflicts++;
          batch[i].reject(o);
        } else if (failure) batch[i].reject(failure);
        else {
          if (o.duplicate) this.stats.duplicates++;
          else this.stats.appended++;
          batch[i].resolve(o);
        }
      }
      if (!failure && accepted.length > 0) {
        for (const l of this.commitListeners) {
          try {
            l(accepted);
          } catch {
            // listeners must not break the ack path
          }
        }
      }
    };
    if (walFd === null) settle();
    else {
      this.syncGroup.push(settle);
      // Started once per flush (after every batch of it is committed): one fsync per group.
      queueMicrotask(() => this.syncSoon(walFd));
    }
  }

  /**
   * Group fsync: one fsync(WAL) covers every commit made before it started. When the disk syncs
   * fast (< ON_LOOP_MAX_MS, measured) it is done right here on the event loop — cheaper than
   * handing it to a pool thread and waiting to be called back, which costs milliseconds on a busy
   * machine. When the disk is slow it runs on the libuv pool, so the loop keeps parsing and
   * committing meanwhile; a probe on the loop every PROBE_EVERY_MS notices when the disk is fast again.
   */
  private syncSoon(fd: number): void {
    if (this.syncing >= MAX_FSYNCS_IN_FLIGHT) return;
    const group = this.syncGroup;
    if (group.length === 0) return;
    this.syncGroup = [];
    this.stats.fsyncs++;
    const now = Date.now();
    if (this.syncing === 0 && (this.syncEwmaMs < ON_LOOP_MAX_MS || now - this.lastLoopSync > PROBE_EVERY_MS)) {
      const started = performance.now();
      let error: Error | null = null;
      try {
        fdatasyncSync(fd);
      } catch (err) {
        error = err as Error;
      }
      const ms = performance.now() - started;
      // Each sync on the loop moves the average a little; a probe (made while in pool mode) counts half.
      const weight = this.syncEwmaMs < ON_LOOP_MAX_MS ? 0.2 : 0.5;
      this.syncEwmaMs = this.lastLoopSync === 0 ? ms : (1 - weight) * this.syncEwmaMs + weight * ms;
      this.lastLoopSync = now;
      this.stats.fsyncMs += ms;
      if (ms > this.stats.syncMaxMs) this.stats.syncMaxMs = ms;
      this.stats.loopSyncs++;
      this.synced(fd, group, error);
      return;
    }
    this.syncing++;
    const started = performance.now();
    fdatasync(fd, (err) => {
      this.syncing--;
      const ms = performance.now() - started;
      this.stats.fsyncMs += ms;
      if (ms > this.stats.syncMaxMs) this.stats.syncMaxMs = ms;
      this.synced(fd, group, err);
    });
  }

  private synced(fd: number, group: ((failure?: AppError) => void)[], err: Error | null): void {
    const failure = err
      ? new AppError('STORE_UNAVAILABLE', `The inbox could not sync to disk: ${err.message}`, { status: 503 })
      : undefined;
    for (const settle of group) settle(failure);
    if (this.recentKeys.size >= INDEX_AT) this.indexKeys();
    if (this.syncGroup.length > 0) this.syncSoon(fd);
    else if (this.pending.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** An fd of the journal's WAL file when the journal is in WAL mode (else null: plain synchronous=FULL commits). */
  private walFd(): number | null {
    if (this.wal !== undefined) return this.wal;
    this.wal = null;
    try {
      const mode = String(this.db.pragma('journal_mode', { simple: true })).toLowerCase();
      this.syncMode = String(this.db.pragma('synchronous', { simple: true })) === '3' ? 'EXTRA' : 'FULL';
      if (mode === 'wal' && this.walPath) {
        // Make sure the WAL file exists before opening it.
        this.db.prepare('SELECT count(*) FROM webhook_inbox WHERE id = -1').get();
        this.wal = openSync(this.walPath, 'r');
        // SQLite checkpoints inside whichever commit crosses the threshold — under a stream of
        // events, an inbox commit on the loop (copy the WAL into the db file + fsync it: 5–20 ms
        // while every waiting sender waits). A larger WAL means fewer of those pauses, and pages
        // rewritten in the meantime (the inbox tail, its partial index, "done" marks) are copied once.
        const every = Number(this.db.pragma('wal_autocheckpoint', { simple: true }));
        if (every > 0 && every < CHECKPOINT_PAGES) this.db.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
      }
    } catch {
      this.wal = null;
    }
    return this.wal;
  }

  /** Waits for everything appended so far to be committed and synced (graceful stop). */
  async settle(): Promise<void> {
    while (this.pending.length > 0 || this.scheduled || this.syncing > 0 || this.syncGroup.length > 0) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Starts the periodic key-index pass (see `indexKeys`). */
  start(): void {
    if (this.indexTimer) return;
    this.indexTimer = setInterval(() => {
      try {
        this.indexKeys();
      } catch {
        // retried next tick; the keys stay in memory meanwhile
      }
    }, INDEX_EVERY_MS);
    this.indexTimer.unref?.();
  }

  close(): void {
    if (this.indexTimer) clearInterval(this.indexTimer);
    this.indexTimer = null;
    try {
      while (this.indexKeys() > 0) {
        // drain everything before closing
      }
    } catch {
      // rebuilt from the inbox at the next start
    }
    if (this.wal !== undefined && this.wal !== null) {
      try {
        closeSync(this.wal);
      } catch {
        // already closed
      }
    }
    this.wal = undefined;
  }

  // ---------- queries ----------

  get(id: number): InboxRow | undefined {
    return this.db.prepare('SELECT * FROM webhook_inbox WHERE id = ?').get(id) as InboxRow | undefined;
  }

  detail(id: number): WebhookEventDetail | null {
    const row = this.get(id);
    if (!row) return null;
    let json: unknown = null;
    const t = row.body.trimStart();
    if ((t.startsWith('{') || t.startsWith('[')) && !jsonNestingExceeds(t)) {
      try {
        json = JSON.parse(row.body);
      } catch {
        json = null;
      }
    }
    let headers: Record<string, string> = {};
    try {
      headers = JSON.parse(row.headers);
    } catch {
      headers = {};
    }
    return {
      ...summarise(row),
      contentType: row.content_type,
      headers,
      body: row.body,
      json,
      dedupeKey: row.dedupe_key,
      contentHash: row.content_hash,
      processedAt: row.processed_at ? new Date(row.processed_at).toISOString() : null,
      table: row.target_table,
    };
  }

  list(filter: {
    source?: string;
    topic?: string;
    symbol?: string;
    status?: InboxStatus;
    from?: number;
    to?: number;
    before?: number;
    limit: number;
  }): { items: WebhookEventSummary[]; nextBefore: number | null } {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.source) {
      where.push('source = ?');
      params.push(filter.source);
    }
    if (filter.topic) {
      where.push('topic = ?');
      params.push(filter.topic);
    }
    if (filter.symbol) {
      where.push('symbol = ?');
      params.push(filter.symbol.toUpperCase());
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.from !== undefined) {
      where.push('received_at >= ?');
      params.push(filter.from);
    }
    if (filter.to !== undefined) {
      where.push('received_at <= ?');
      params.push(filter.to);
    }
    if (filter.before !== undefined) {
      where.push('id < ?');
      params.push(filter.before);
    }
    const sql = `SELECT id, source, route, topic, symbol, received_at, status, attempts, last_error, length(CAST(body AS BLOB)) AS size
      FROM webhook_inbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...params, filter.limit + 1) as (InboxRow & { size: number })[];
    const more = rows.length > filter.limit;
    const items = rows.slice(0, filter.limit).map(summarise);
    return { items, nextBefore: more ? items[items.length - 1].id : null };
  }

  /**
   * Cheap enough to call every second on a large inbox and a large backlog: pending/failed/dead are the
   * kept `tally` (counted from the partial indexes only when it is unset), done is the rest: max(id)
   * minus the rows pruned so far (`prune` never deletes the newest row, so max(id) never goes back and
   * ids are never reused).
   */
  counts(): { pending: number; failed: number; dead: number; done: number } {
    if (!this.tally) {
      const tally = { pending: 0, failed: 0, dead: 0 };
      for (const r of this.stmts.counts.all() as { status: 'pending' | 'failed'; n: number }[]) tally[r.status] = r.n;
      tally.dead = (this.stmts.deadCount.get() as { n: number }).n;
      this.tally = tally;
    }
    const { pending, failed, dead } = this.tally;
    const total = (this.stmts.total.get() as { n: number | null }).n ?? 0;
    return { pending, failed, dead, done: Math.max(0, total - this.prunedRows() - pending - failed - dead) };
  }

  /**
   * Runs `update(from)` — an UPDATE of one row `WHERE id = ? AND status = from` — for each possible prior
   * status, likeliest first, until one changes the row; returns that prior status (null: no such row).
   */
  private moveRow(update: (from: InboxStatus) => number, order: readonly InboxStatus[]): InboxStatus | null {
    for (const from of order) if (update(from) > 0) return from;
    return null;
  }

  /** Applies committed status moves to the tally (a failed change resets it instead: see `tally`). */
  private applyMoves(moves: [InboxStatus | null, InboxStatus][]): void {
    if (!this.tally) return;
    for (const [from, to] of moves) {
      if (from === null || from === to) continue;
      if (from !== 'done') this.tally[from]--;
      if (to !== 'done') this.tally[to]++;
    }
  }

  /** When the newest stored event arrived (epoch ms), or null for an empty inbox. */
  lastReceivedAt(): number | null {
    const row = this.db.prepare('SELECT received_at FROM webhook_inbox ORDER BY id DESC LIMIT 1').get() as
      | { received_at: number }
      | undefined;
    return row?.received_at ?? null;
  }

  private prunedRows(): number {
    this.prunedStmt ??= this.db.prepare("SELECT value FROM webhook_meta WHERE name = 'pruned_rows'");
    return (this.prunedStmt.get() as { value: number } | undefined)?.value ?? 0;
  }

  /**
   * Retention (WEBHOOK_INBOX_RETENTION_DAYS): deletes up to `max` processed events whose processing
   * ended before `beforeMs`, oldest first, and returns how many. Pending, failed and dead events are
   * never deleted, nor the newest row (its id is what the next id follows), nor an event whose dedupe
   * key is not yet in the on-disk key index (TradingView and history-URL keys are unique per request
   * and never indexed) — so a provider resending a pruned event still gets "duplicate", and its rows in
   * the warehouse tables stay as they are.
   */
  prune(beforeMs: number, max = 5_000): number {
    if (!this.db.open || this.db.inTransaction) return 0;
    let deleted = 0;
    this.db.transaction(() => {
      deleted = this.db
        .prepare(
          `DELETE FROM webhook_inbox WHERE id IN (
             SELECT id FROM webhook_inbox
              WHERE status = 'done' AND processed_at < ? AND id < (SELECT max(id) FROM webhook_inbox)
                AND (id <= ? OR dedupe_key LIKE 'tv:%' OR dedupe_key LIKE 'gexurl:%')
              ORDER BY id LIMIT ?)`,
        )
        .run(beforeMs, this.recentUpto, max).changes;
      if (deleted > 0) {
        this.db
          .prepare(
            `INSERT INTO webhook_meta (name, value) VALUES ('pruned_rows', ?)
             ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`,
          )
          .run(deleted);
      }
    })();
    return deleted;
  }

  /** Rows the processor should work on now, oldest first. */
  due(now: number, limit: number): InboxRow[] {
    return this.stmts.due.all(now, limit) as InboxRow[];
  }

  /**
   * Not synced on its own (synchronous=NORMAL; the next inbox fsync covers it): if a crash loses
   * the mark, the rows are simply processed again, which the warehouse keys make harmless.
   */
  markDone(ids: { id: number; table: string | null }[], now: number): void {
    const moves: [InboxStatus | null, InboxStatus][] = [];
    const tx = this.db.transaction(() => {
      for (const { id, table } of ids) {
        const from = this.moveRow((f) => this.stmts.done.run(now, table, id, f).changes, WORK_FIRST);
        moves.push([from, 'done']);
      }
    });
    this.setSynchronous('NORMAL');
    try {
      tx();
      this.applyMoves(moves);
    } catch (err) {
      this.tally = null;
      throw err;
    } finally {
      this.setSynchronous(this.syncMode);
    }
  }

  markFailed(id: number, error: string, attempts: number, nextAttemptAt: number | null, dead: boolean): void {
    const to: InboxStatus = dead ? 'dead' : 'failed';
    try {
      const from = this.moveRow(
        (f) => this.stmts.failed.run(to, attempts, error.slice(0, 2000), nextAttemptAt, id, f).changes,
        WORK_FIRST,
      );
      this.applyMoves([[from, to]]);
    } catch (err) {
      this.tally = null;
      throw err;
    }
  }

  /** Queues events again (replay): status back to pending, attempts reset. Returns how many. */
  requeue(ids: number[] | 'dead'): number {
    this.tally = null; // rare (a user's replay): count again rather than track
    if (ids === 'dead') {
      return this.db
        .prepare("UPDATE webhook_inbox SET status='pending', attempts=0, next_attempt_at=NULL WHERE status='dead'")
        .run().changes;
    }
    const stmt = this.db.prepare("UPDATE webhook_inbox SET status='pending', attempts=0, next_attempt_at=NULL WHERE id = ?");
    let n = 0;
    this.db.transaction(() => {
      for (const id of ids) n += stmt.run(id).changes;
    })();
    return n;
  }

  now(): number {
    return this.clock.now();
  }
}

export function summarise(
  row: Pick<InboxRow, 'id' | 'source' | 'route' | 'topic' | 'symbol' | 'received_at' | 'status' | 'attempts' | 'last_error'> & {
    size?: number;
    body?: string;
  },
): WebhookEventSummary {
  return {
    id: row.id,
    source: row.source,
    route: row.route,
    topic: row.topic,
    symbol: row.symbol,
    receivedAt: new Date(row.received_at).toISOString(),
    status: row.status,
    attempts: row.attempts,
    error: row.last_error,
    size: row.size ?? (row.body !== undefined ? Buffer.byteLength(row.body) : 0),
  };
}

interface KeyIndex {
  /** The event already stored under this key (this batch, not yet indexed, or indexed). */
  find(key: string): { id: number; hash: string } | undefined;
  /** Remembers a key stored by the current transaction. */
  add(key: string, id: number, hash: string): void;
}

function prepare(db: Database.Database, keys: KeyIndex) {
  const insert = db.prepare(`INSERT INTO webhook_inbox
    (source, route, topic, symbol, headers, content_type, body, received_at, dedupe_key, content_hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const recent = db.prepare(
    "SELECT id FROM webhook_inbox WHERE source = 'tradingview' AND content_hash = ? AND received_at >= ? ORDER BY id DESC LIMIT 1",
  );
  const bodyOf = db.prepare('SELECT body FROM webhook_inbox WHERE id = ?').pluck();
  const sameAsStored = (id: number, item: InboxAppend): boolean => {
    if (!item.sameContent) return false;
    const stored = bodyOf.get(id) as string | undefined;
    return stored !== undefined && item.sameContent(stored);
  };
  /** Appends a batch; returns how many rows it inserted (duplicates and conflicts insert none). */
  const tx = db.transaction((batch: Pending[], outcomes: (InboxAppendResult | AppError)[], accepted: WebhookEventSummary[]) => {
    let inserted = 0;
    for (const { item } of batch) {
      if (item.windowMs !== undefined && item.windowMs > 0) {
        const prior = recent.get(item.contentHash, item.receivedAt - item.windowMs) as { id: number } | undefined;
        if (prior) {
          outcomes.push({ id: prior.id, duplicate: true });
          continue;
        }
      }
      const existing = item.uniqueKey ? undefined : keys.find(item.dedupeKey);
      if (existing) {
        if (existing.hash === item.contentHash || sameAsStored(existing.id, item))
          outcomes.push({ id: existing.id, duplicate: true });
        else {
          outcomes.push(
            new AppError(
              'DUPLICATE_CONFLICT',
              `An event with the same id (${item.dedupeKey}) but different content was already stored`,
              {
                status: 409,
                details: { existingId: existing.id, dedupeKey: item.dedupeKey },
              },
            ),
          );
        }
        continue;
      }
      const headers = JSON.stringify(item.headers);
      const values = [
        item.source,
        item.route,
        item.topic,
        item.symbol,
        headers,
        item.contentType,
        item.body,
        item.receivedAt,
        item.dedupeKey,
        item.contentHash,
      ] as const;
      let id = 0;
      let extra: { jobId?: string; created?: boolean } | undefined;
      if (item.withinCommit) {
        const hook = item.withinCommit;
        try {
          // A nested transaction is a savepoint: a failing hook undoes only this event.
          db.transaction(() => {
            id = Number(insert.run(...values).lastInsertRowid);
            extra = hook(id);
          })();
        } catch (err) {
          outcomes.push(err instanceof AppError ? err : new AppError('SIDE_EFFECT_FAILED', errorMessage(err), { status: 422 }));
          continue;
        }
      } else {
        id = Number(insert.run(...values).lastInsertRowid);
      }
      inserted++;
      if (!item.uniqueKey) keys.add(item.dedupeKey, id, item.contentHash);
      outcomes.push({ id, duplicate: extra?.created === false, jobId: extra?.jobId });
      if (extra?.created !== false) {
        accepted.push({
          id,
          source: item.source,
          route: item.route,
          topic: item.topic,
          symbol: item.symbol,
          receivedAt: new Date(item.receivedAt).toISOString(),
          status: 'pending',
          attempts: 0,
          error: null,
          size: Buffer.byteLength(item.body),
        });
      }
    }
    return inserted;
  });
  const counts = db.prepare(
    "SELECT status, count(*) AS n FROM webhook_inbox INDEXED BY webhook_inbox_work WHERE status IN ('pending', 'failed') GROUP BY status",
  );
  const deadCount = db.prepare("SELECT count(*) AS n FROM webhook_inbox INDEXED BY webhook_inbox_dead WHERE status = 'dead'");
  const total = db.prepare('SELECT max(id) AS n FROM webhook_inbox');
  const due = db.prepare(`SELECT * FROM webhook_inbox
    WHERE status IN ('pending', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
    ORDER BY id LIMIT ?`);
  const done = db.prepare(
    "UPDATE webhook_inbox SET status='done', processed_at=?, target_table=?, last_error=NULL, next_attempt_at=NULL WHERE id=? AND status=?",
  );
  const failed = db.prepare(
    'UPDATE webhook_inbox SET status=?, attempts=?, last_error=?, next_attempt_at=? WHERE id=? AND status=?',
  );
  return { tx, counts, deadCount, total, due, done, failed };
}

export const INBOX_JOURNAL_SQL = `
  CREATE TABLE webhook_inbox (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    route TEXT NOT NULL,
    topic TEXT,
    symbol TEXT,
    headers TEXT NOT NULL DEFAULT '{}',
    content_type TEXT,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    dedupe_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at INTEGER,
    processed_at INTEGER,
    target_table TEXT
  );
  CREATE INDEX webhook_inbox_work ON webhook_inbox (id) WHERE status IN ('pending', 'failed');
  CREATE INDEX webhook_inbox_dead ON webhook_inbox (id) WHERE status = 'dead';
  CREATE INDEX webhook_inbox_tv_hash ON webhook_inbox (content_hash, received_at) WHERE source = 'tradingview';
  CREATE TABLE webhook_dedupe (
    key TEXT PRIMARY KEY,
    inbox_id INTEGER NOT NULL,
    content_hash TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE webhook_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE webhook_rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    route TEXT NOT NULL,
    source TEXT,
    remote TEXT,
    status INTEGER NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    issues TEXT NOT NULL DEFAULT '[]',
    content_type TEXT,
    body_size INTEGER NOT NULL DEFAULT 0,
    body_excerpt TEXT NOT NULL DEFAULT ''
  );
`;
