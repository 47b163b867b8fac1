/**
 * The webhooks capability as one workstation service: listener + inbox + processor + rejected log,
 * with the state the UI shows, the stream connector's entry point and the GEX read model.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { EventHub } from '../api';
import type { GexSnapshotView, UwStreamStatus, WebhookListenerStatus } from '../api/webhooks';
import { DAY_MS } from '../calendar';
import type { SettingsStore } from '../config';
import { enqueueImport } from '../imports';
import { AppError, type Clock, errorMessage, type Logger, yieldToLoop } from '../platform';
import type { Journal, Warehouse } from '../storage';
import { signingKey, signStandardWebhook } from './auth';
import { WebhookInbox } from './inbox';
import { IngestError, type IngestResult, WebhookIngest } from './ingest';
import { buildListener, type ListenerSettings } from './listener';
import { Allowlist, isLoopbackHost } from './net';
import type { FieldIssue } from './payloads';
import { type ProcessorOptions, WebhookProcessor } from './processor';
import { RejectedLog } from './rejected';

/** How often WEBHOOK_INBOX_RETENTION_DAYS is applied, and how many rows one slice deletes. */
const RETENTION_EVERY_MS = 3_600_000;
const PRUNE_SLICE = 2_000;

/** One frame from the Unusual Whales stream (structurally the connector's UwStreamFrame). */
export interface UwFrame {
  channel: string;
  payload: unknown;
  raw: string;
  receivedAt: number;
}

export type UwFrameOutcome = { outcome: 'accepted' | 'duplicate' | 'rejected'; reason?: string; id?: number };

export interface WebhookServiceDeps {
  journal: Journal;
  warehouse: Warehouse;
  settings: SettingsStore;
  events: EventHub;
  logger: Logger;
  clock: Clock;
  processor?: ProcessorOptions;
  /** Tests: when WEBHOOK_PORT is left at its default, bind an ephemeral port so parallel workstations never collide. */
  ephemeralDefaultPort?: boolean;
  /** DNS resolver for /gex_history_url checks (tests). */
  resolveHost?: (host: string) => Promise<string[]>;
}

export class WebhookService {
  readonly inbox: WebhookInbox;
  readonly rejected: RejectedLog;
  readonly ingest: WebhookIngest;
  readonly processor: WebhookProcessor;
  private app: FastifyInstance | null = null;
  private boundPort: number | null = null;
  private boundHost: string;
  private streamStatusSource: (() => UwStreamStatus | null) | null = null;
  private readonly perSecond = new Array<number>(60).fill(0);
  private perSecondAt = 0;
  private accepted = 0;
  private duplicates = 0;
  private lastEventAt: number | null = null;
  private errors = 0;
  private lastError: string | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;
  private pruning = false;
  private dirty = false;
  private allowlistCache: { key: string; list: Allowlist } = { key: '', list: new Allowlist([]) };
  private readonly logger: Logger;
  private readonly testToken = randomBytes(18).toString('base64url');

  constructor(private readonly deps: WebhookServiceDeps) {
    this.logger = deps.logger.child({ component: 'webhooks' });
    this.inbox = new WebhookInbox(deps.journal.db, deps.clock, `${deps.journal.path}-wal`);
    this.rejected = new RejectedLog(deps.journal.db, this.logger);
    this.ingest = new WebhookIngest(
      this.inbox,
      () => {
        const s = deps.settings.get();
        return { dedupeWindowMs: s.WEBHOOK_DEDUPE_WINDOW_SECONDS * 1000, allowPrivateUrls: s.WEBHOOK_ALLOW_PRIVATE_URLS };
      },
      (input) => enqueueImport(deps.journal.db, input),
      deps.resolveHost,
    );
    this.processor = new WebhookProcessor(
      this.inbox,
      deps.warehouse,
      this.logger.child({ component: 'webhook-processor' }),
      deps.clock,
      deps.processor,
    );
    this.boundHost = deps.settings.get().WEBHOOK_HOST;
    this.inbox.onCommit((events) => {
      this.processor.noteActivity();
      this.processor.kick();
      this.deps.events.emit('webhooks.event', { events });
    });
    deps.settings.onChange((_s, changed) => {
      const rebind = changed.some((k) => k === 'WEBHOOK_HOST' || k === 'WEBHOOK_PORT' || k === 'WEBHOOK_BODY_LIMIT');
      // A secret is read per request; it only matters here when it lets a refused bind go ahead.
      const unblock = changed.includes('WEBHOOK_SECRET') && this.app === null && this.started;
      if ((rebind && this.started) || unblock) void this.restartListener();
    });
  }

  // ---------- lifecycle ----------

  private started = false;

  async start(): Promise<void> {
    this.started = true;
    // "Last event" survives a restart: the newest stored event, until a new one arrives.
    this.lastEventAt ??= this.inbox.lastReceivedAt();
    this.inbox.start();
    this.processor.start();
    await this.startListener();
    this.statusTimer = setInterval(() => {
      if (this.dirty) {
        this.dirty = false;
        this.deps.events.emit('webhooks.status', this.status());
      }
    }, 1000);
    this.statusTimer.unref?.();
    this.retentionTimer = setInterval(() => void this.pruneInbox(), RETENTION_EVERY_MS);
    this.retentionTimer.unref?.();
    setTimeout(() => void this.pruneInbox(), 1_000).unref?.();
  }

  /**
   * Applies WEBHOOK_INBOX_RETENTION_DAYS (0: keep everything): deletes processed events older than
   * that, in slices with the event loop in between, so acknowledging new events never waits long.
   */
  async pruneInbox(): Promise<number> {
    const days = this.deps.settings.get().WEBHOOK_INBOX_RETENTION_DAYS;
    if (days <= 0 || this.pruning || !this.deps.journal.isOpen) return 0;
    this.pruning = true;
    let total = 0;
    try {
      const before = this.deps.clock.now() - days * DAY_MS;
      for (;;) {
        const n = this.inbox.prune(before, PRUNE_SLICE);
        total += n;
        if (n < PRUNE_SLICE || !this.started) break;
        await yieldToLoop();
      }
      if (total > 0) this.logger.info('webhook inbox retention: processed events deleted', { deleted: total, days });
    } catch (err) {
      this.logger.warn('webhook inbox retention failed (retried next hour)', { error: errorMessage(err) });
    } finally {
      this.pruning = false;
    }
    return total;
  }

  async stop(): Promise<void> {
    this.started = false;
    await this.restarting;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = null;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.retentionTimer = null;
    await this.stopListener();
    await this.inbox.settle();
    this.inbox.close();
    this.rejected.flush();
    await this.processor.stop();
  }

  private listenerSettings(): ListenerSettings {
    const s = this.deps.settings.get();
    const key = s.WEBHOOK_ALLOWLIST.join(',');
    if (key !== this.allowlistCache.key) this.allowlistCache = { key, list: new Allowlist(s.WEBHOOK_ALLOWLIST) };
    return {
      secret: s.WEBHOOK_SECRET,
      allowlist: this.allowlistCache.list,
      ratePerSecond: s.WEBHOOK_RATE_LIMIT,
      bodyLimit: s.WEBHOOK_BODY_LIMIT,
    };
  }

  private async startListener(): Promise<void> {
    const s = this.deps.settings.get();
    this.boundHost = s.WEBHOOK_HOST;
    if (!s.WEBHOOK_SECRET && !isLoopbackHost(s.WEBHOOK_HOST)) {
      this.noteBindError(
        `Refusing to listen on ${s.WEBHOOK_HOST} without WEBHOOK_SECRET: set a secret or use 127.0.0.1 behind a tunnel`,
      );
      this.deps.events.emit('system.notice', {
        level: 'error',
        title: 'Webhook listener not started',
        message: this.lastError ?? '',
      });
      return;
    }
    const app = buildListener({
      ingest: this.ingest,
      rejected: this.rejected,
      settings: () => this.listenerSettings(),
      clock: this.deps.clock,
      logger: this.logger,
      testToken: this.testToken,
      hooks: {
        onAccepted: (_res, duplicate, at) => this.countAccepted(duplicate, at),
        onError: (m) => this.noteError(m),
      },
    });
    try {
      const port =
        this.deps.ephemeralDefaultPort && this.deps.settings.sourceOf('WEBHOOK_PORT') === 'default' ? 0 : s.WEBHOOK_PORT;
      await app.listen({ host: s.WEBHOOK_HOST, port });
    } catch (err) {
      this.noteBindError(`Webhook listener could not bind ${s.WEBHOOK_HOST}:${s.WEBHOOK_PORT}: ${errorMessage(err)}`);
      this.deps.events.emit('system.notice', {
        level: 'error',
        title: 'Webhook listener not started',
        message: this.lastError ?? '',
      });
      await app.close().catch(() => undefined);
      return;
    }
    const addr = app.server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : s.WEBHOOK_PORT;
    this.app = app;
    // A refused or failed bind is no longer the listener's state once it listens.
    if (this.bindError !== null && this.lastError === this.bindError) this.lastError = null;
    this.bindError = null;
    this.dirty = true;
    this.logger.info('webhook listener listening', { url: this.url() });
  }

  private async stopListener(): Promise<void> {
    const app = this.app;
    this.app = null;
    this.boundPort = null;
    if (app) await app.close();
    this.dirty = true;
  }

  private restarting: Promise<void> = Promise.resolve();
  private restartListener(): Promise<void> {
    this.restarting = this.restarting.then(async () => {
      await this.stopListener();
      await this.startListener();
    });
    return this.restarting;
  }

  url(): string | null {
    if (this.boundPort === null) return null;
    const h = this.boundHost.includes(':') ? `[${this.boundHost}]` : this.boundHost;
    return `http://${h === '0.0.0.0' ? '127.0.0.1' : h}:${this.boundPort}`;
  }

  get port(): number | null {
    return this.boundPort;
  }

  // ---------- state ----------

  private roll(at: number): void {
    const sec = Math.floor(at / 1000);
    if (this.perSecondAt === 0) this.perSecondAt = sec;
    const gap = sec - this.perSecondAt;
    if (gap > 0) {
      for (let i = 1; i <= Math.min(gap, 60); i++) this.perSecond[(this.perSecondAt + i) % 60] = 0;
      this.perSecondAt = sec;
    }
  }

  private countAccepted(duplicate: boolean, at: number): void {
    this.roll(at);
    if (duplicate) this.duplicates++;
    else {
      this.accepted++;
      this.perSecond[Math.floor(at / 1000) % 60]++;
    }
    this.lastEventAt = at;
    this.dirty = true;
  }

  private noteError(message: string): void {
    this.errors++;
    this.lastError = message;
    this.dirty = true;
    this.logger.error(message);
  }

  private bindError: string | null = null;
  private noteBindError(message: string): void {
    this.noteError(message);
    this.bindError = message;
  }

  setStreamStatusSource(fn: () => UwStreamStatus | null): void {
    this.streamStatusSource = fn;
    this.dirty = true;
  }

  markDirty(): void {
    this.dirty = true;
  }

  status(): WebhookListenerStatus {
    const s = this.deps.settings.get();
    this.roll(this.deps.clock.now());
    let stream: UwStreamStatus | null = null;
    try {
      stream = this.streamStatusSource?.() ?? null;
    } catch {
      stream = null;
    }
    return {
      listening: this.app !== null,
      url: this.url(),
      host: s.WEBHOOK_HOST,
      port: this.boundPort,
      authMode: s.WEBHOOK_SECRET ? 'secret' : 'loopback-only',
      eventsPerMinute: this.perSecond.reduce((a, b) => a + b, 0),
      acceptedSinceStart: this.accepted,
      duplicatesSinceStart: this.duplicates,
      rejectedSinceStart: this.rejected.count,
      lastEventAt: this.lastEventAt ? new Date(this.lastEventAt).toISOString() : null,
      errors: this.errors,
      lastError: this.lastError,
      inbox: this.deps.journal.isOpen ? this.inbox.counts() : { pending: 0, failed: 0, dead: 0, done: 0 },
      rejectedTotal: this.deps.journal.isOpen ? this.rejected.total() : 0,
      stream,
    };
  }

  // ---------- the stream connector's entry point (same path as POST /uw) ----------

  /** Appends one Unusual Whales stream frame to the inbox; throws only when the store is unavailable. */
  async ingestUwFrame(frame: UwFrame): Promise<UwFrameOutcome> {
    try {
      const res = await this.ingest.uw([frame.channel, frame.payload], frame.raw, {
        source: 'uw-stream',
        route: '/uw',
        headers: {},
        contentType: 'application/json',
        receivedAt: frame.receivedAt,
      });
      this.countAccepted(res.duplicate, frame.receivedAt);
      return { outcome: res.duplicate ? 'duplicate' : 'accepted', id: res.id };
    } catch (err) {
      if (err instanceof IngestError || (err instanceof AppError && err.status === 409)) {
        const issues: FieldIssue[] =
          err instanceof IngestError
            ? err.issues
            : [
                {
                  path: [],
                  message: 'an event with the same id was stored with different content',
                  hint: 'a new event needs a new id',
                },
              ];
        this.rejectUwFrame(frame.raw, err.message, frame.receivedAt, err.status, err.code, issues);
        return { outcome: 'rejected', reason: err.message };
      }
      throw err;
    }
  }

  /** A stream frame that could not be used at all: recorded in the rejected log. */
  rejectUwFrame(
    raw: string,
    reason: string,
    receivedAt: number,
    status = 400,
    code = 'bad_frame',
    issues: FieldIssue[] = [],
  ): void {
    this.rejected.record({
      receivedAt,
      route: '/uw',
      source: 'uw-stream',
      remote: null,
      status,
      code: code.toLowerCase(),
      message: reason,
      issues,
      contentType: null,
      bodySize: Buffer.byteLength(raw),
      bodyExcerpt: raw.slice(0, 2048),
    });
    this.dirty = true;
  }

  /** The sink object the UW stream connector expects. */
  uwFrameSink() {
    return {
      ingest: (frame: UwFrame) => this.ingestUwFrame(frame),
      reject: (raw: string, reason: string, receivedAt: number) => this.rejectUwFrame(raw, reason, receivedAt),
    };
  }

  // ---------- actions ----------

  reprocess(input: { ids?: number[]; allDead?: boolean }): { queued: number } {
    let queued = 0;
    if (input.allDead) queued += this.inbox.requeue('dead');
    if (input.ids?.length) queued += this.inbox.requeue([...new Set(input.ids)]);
    this.processor.kick();
    this.dirty = true;
    return { queued };
  }

  async sendTest(
    kind: 'tradingview' | 'uw' | 'gex',
  ): Promise<{ status: number; id: number | null; duplicate: boolean; message: string }> {
    const base = this.url();
    if (!base)
      throw new AppError(
        'WEBHOOK_NOT_LISTENING',
        `The webhook listener is not running${this.lastError ? `: ${this.lastError}` : ''}`,
        { status: 409 },
      );
    const secret = this.deps.settings.get().WEBHOOK_SECRET;
    const now = this.deps.clock.now();
    let path: string;
    let body: string;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-marketdesk-test': this.testToken };
    if (kind === 'tradingview') {
      path = secret ? `/tradingview/${encodeURIComponent(secret)}` : '/tradingview';
      body = JSON.stringify({
        ticker: 'TEST',
        exchange: 'MARKETDESK',
        action: 'test',
        price: 1,
        interval: '1',
        time: new Date(now).toISOString(),
        timenow: new Date(now).toISOString(),
        message: 'Marketdesk test event',
      });
    } else if (kind === 'uw') {
      path = '/uw';
      // The shape of Unusual Whales' flow-alerts frames (fixtures/webhooks/uw-flow-alert.json).
      body = JSON.stringify([
        'flow-alerts',
        {
          id: `test-${now}`,
          rule_name: 'MarketdeskTest',
          ticker: 'TEST',
          option_chain: 'TEST261218C00100000',
          underlying_price: 100,
          total_size: 10,
          total_premium: 10000,
          price: 10,
          bid: '9.90',
          ask: '10.10',
          start_time: now,
          end_time: now,
          executed_at: now,
        },
      ]);
    } else {
      path = '/gex';
      body = JSON.stringify({
        timestamp: Math.floor(now / 1000),
        ticker: 'TEST',
        spot: 100,
        zero_gamma: 99,
        strikes: [
          [95, -1, -1, []],
          [100, 2, 1, []],
          [105, 1, 0.5, []],
        ],
      });
    }
    if (secret && kind !== 'tradingview') {
      const id = `test-${now}-${Math.random().toString(36).slice(2)}`;
      const ts = Math.floor(now / 1000);
      headers['webhook-id'] = id;
      headers['webhook-timestamp'] = String(ts);
      headers['webhook-signature'] = signStandardWebhook(signingKey(secret), id, ts, body);
    }
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
    const json = (await res.json().catch(() => ({}))) as { id?: number; duplicate?: boolean; error?: { message?: string } };
    return {
      status: res.status,
      id: json.id ?? null,
      duplicate: json.duplicate ?? false,
      message: res.ok
        ? `Accepted by ${path.startsWith('/tradingview') ? '/tradingview' : path} (HTTP ${res.status})`
        : (json.error?.message ?? `HTTP ${res.status}`),
    };
  }

  tradingViewSetup(reveal: boolean) {
    const s = this.deps.settings.get();
    const baseUrl = s.WEBHOOK_PUBLIC_URL.replace(/\/+$/, '') || this.url() || `http://${s.WEBHOOK_HOST}:${s.WEBHOOK_PORT}`;
    const token = s.WEBHOOK_SECRET ? (reveal ? encodeURIComponent(s.WEBHOOK_SECRET) : '<WEBHOOK_SECRET>') : '';
    const url = token ? `${baseUrl}/tradingview/${token}` : `${baseUrl}/tradingview`;
    const template = [
      '{',
      '  "ticker": "{{ticker}}",',
      '  "exchange": "{{exchange}}",',
      '  "interval": "{{interval}}",',
      '  "time": "{{time}}",',
      '  "timenow": "{{timenow}}",',
      '  "price": {{close}},',
      '  "action": "{{strategy.order.action}}",',
      '  "order_id": "{{strategy.order.id}}",',
      '  "contracts": {{strategy.order.contracts}},',
      '  "position_size": {{strategy.position_size}},',
      '  "market_position": "{{strategy.market_position}}",',
      '  "prev_market_position": "{{strategy.prev_market_position}}"',
      '}',
    ].join('\n');
    const notes = [
      'TradingView only calls ports 80/443: expose the listener through a tunnel (cloudflared, ngrok, Tailscale Funnel) and set WEBHOOK_PUBLIC_URL.',
      'The secret travels in the URL path; alternatively put "passphrase": "<secret>" in the message (it is stripped before storage).',
      'Plain-text messages are stored as text; strategy placeholders ({{strategy.*}}) only work in strategy alerts.',
    ];
    if (!s.WEBHOOK_SECRET)
      notes.unshift(
        'WEBHOOK_SECRET is not set: only local requests are accepted. Set a long random secret before exposing the port.',
      );
    return { baseUrl, url, template, secretConfigured: s.WEBHOOK_SECRET !== '', notes };
  }

  async gexTickers() {
    const rows = await this.deps.warehouse.rows<{ ticker: string; category: string; source: string; ts: number }>(
      `SELECT ticker, category, arg_max(source, ts) AS source, epoch_ms(max(ts)) AS ts FROM (
         SELECT ticker, category, source, ts FROM gex_snapshots
         UNION ALL SELECT ticker, category, source, max(ts) AS ts FROM gex_strikes WHERE category = 'uw' GROUP BY ALL
       ) GROUP BY ticker, category ORDER BY ticker, category`,
    );
    return {
      items: rows.map((r) => ({ ticker: r.ticker, category: r.category, source: r.source, ts: new Date(r.ts).toISOString() })),
    };
  }

  async gexLatest(tickerRaw: string, category?: string): Promise<{ snapshot: GexSnapshotView | null }> {
    const ticker = tickerRaw.trim().toUpperCase();
    const wh = this.deps.warehouse;
    type SnapRow = {
      ticker: string;
      category: string;
      source: string;
      ts: number;
      spot: number | null;
      zero_gamma: number | null;
      major_pos_vol: number | null;
      major_pos_oi: number | null;
      major_neg_vol: number | null;
      major_neg_oi: number | null;
    };
    const snaps = await wh.rows<SnapRow>(
      `SELECT ticker, category, source, epoch_ms(ts) AS ts, spot, zero_gamma, major_pos_vol, major_pos_oi, major_neg_vol, major_neg_oi
       FROM gex_snapshots WHERE ticker = ? AND category <> 'uw' ${category && category !== 'uw' ? 'AND category = ?' : ''}
       ORDER BY ts DESC, (category = 'full') DESC LIMIT 1`,
      category && category !== 'uw' ? [ticker, category] : [ticker],
    );
    const uwLatest = await wh.rows<{ ts: number | null }>(
      "SELECT epoch_ms(max(ts)) AS ts FROM gex_strikes WHERE ticker = ? AND category = 'uw' AND expiry = ''",
      [ticker],
    );
    const snap = category === 'uw' ? undefined : snaps[0];
    const uwTs = category && category !== 'uw' ? null : (uwLatest[0]?.ts ?? null);
    if (snap && (uwTs === null || snap.ts >= uwTs)) {
      const strikes = await wh.rows<{ strike: number; gex_vol: number | null; gex_oi: number | null }>(
        "SELECT strike, gex_vol, gex_oi FROM gex_strikes WHERE ticker = ? AND category = ? AND ts = epoch_ms(?::BIGINT) AND expiry = '' ORDER BY strike",
        [ticker, snap.category, snap.ts],
      );
      return {
        snapshot: {
          ticker,
          category: snap.category,
          source: snap.source,
          ts: new Date(snap.ts).toISOString(),
          spot: snap.spot,
          zeroGamma: snap.zero_gamma,
          majorPosVol: snap.major_pos_vol,
          majorPosOi: snap.major_pos_oi,
          majorNegVol: snap.major_neg_vol,
          majorNegOi: snap.major_neg_oi,
          strikes: strikes.map((r) => ({ strike: r.strike, gexVol: r.gex_vol, gexOi: r.gex_oi })),
        },
      };
    }
    if (uwTs === null) return { snapshot: null };
    // Unusual Whales sends one frame per strike: the latest value of each strike in the last 10 minutes.
    const strikes = await wh.rows<{ strike: number; gex_vol: number | null; gex_oi: number | null; price: number | null }>(
      `SELECT strike, arg_max(gex_vol, ts) AS gex_vol, arg_max(gex_oi, ts) AS gex_oi,
              TRY_CAST(arg_max(extra->>'price', ts) AS DOUBLE) AS price
       FROM gex_strikes WHERE ticker = ? AND category = 'uw' AND expiry = ''
         AND ts >= epoch_ms(?::BIGINT) - INTERVAL 10 MINUTE
       GROUP BY strike ORDER BY strike`,
      [ticker, uwTs],
    );
    const uwSpot = await wh.rows<{ spot: number | null }>(
      "SELECT spot FROM gex_snapshots WHERE ticker = ? AND category = 'uw' ORDER BY ts DESC LIMIT 1",
      [ticker],
    );
    const spot = uwSpot[0]?.spot ?? strikes.find((r) => r.price !== null)?.price ?? null;
    return {
      snapshot: {
        ticker,
        category: 'uw',
        source: 'uw',
        ts: new Date(uwTs).toISOString(),
        spot,
        zeroGamma: null,
        majorPosVol: null,
        majorPosOi: null,
        majorNegVol: null,
        majorNegOi: null,
        strikes: strikes.map((r) => ({ strike: r.strike, gexVol: r.gex_vol, gexOi: r.gex_oi })),
      },
    };
  }
}

export type { IngestResult };
