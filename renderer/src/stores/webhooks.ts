/**
 * Webhooks page state: listener and stream status, the live feed (fed by `webhooks.event`), the selected
 * event's raw payload, the rejected log, dead letters, the TradingView setup and the GEX view.
 */
import { create } from 'zustand';
import type { EventPayload, MethodInput, MethodOutput } from '../../../core/api/browser';
import { api } from '../api';

export type ListenerStatus = MethodOutput<'webhooks.status'>;
export type StreamStatus = MethodOutput<'webhooks.streamStatus'>;
export type FeedItem = MethodOutput<'webhooks.events'>['items'][number];
export type EventDetail = MethodOutput<'webhooks.event'>;
export type RejectedItem = MethodOutput<'webhooks.rejected'>['items'][number];
export type TradingViewSetup = MethodOutput<'webhooks.tradingViewSetup'>;
export type GexTicker = MethodOutput<'webhooks.gexTickers'>['items'][number];
export type GexSnapshot = NonNullable<MethodOutput<'webhooks.gexLatest'>['snapshot']>;
export type TestKind = MethodInput<'webhooks.sendTest'>['kind'];
export type TestResult = MethodOutput<'webhooks.sendTest'>;

export interface FeedFilters {
  source: string;
  topic: string;
  symbol: string;
  status: '' | FeedItem['status'];
}

const FEED_LIMIT = 200;
const EMPTY_FILTERS: FeedFilters = { source: '', topic: '', symbol: '', status: '' };

interface WebhooksState {
  status: ListenerStatus | null;
  stream: StreamStatus | null;
  filters: FeedFilters;
  feed: FeedItem[];
  feedError: string | null;
  selectedId: number | null;
  detail: EventDetail | null;
  detailError: string | null;
  rejected: RejectedItem[];
  dead: FeedItem[];
  setup: TradingViewSetup | null;
  revealSecret: boolean;
  testResult: (TestResult & { kind: TestKind }) | null;
  testError: string | null;
  sending: boolean;
  reprocessing: boolean;
  message: string | null;
  gexTickers: GexTicker[];
  gexTicker: string;
  gex: GexSnapshot | null;
  gexError: string | null;
  /** Set when a GEX event arrived that the chart has not caught up with yet. */
  gexStale: boolean;

  /** Subscribes to live events and loads everything; returns the unsubscribe. */
  start(): () => void;
  refreshStatus(): Promise<void>;
  setFilters(patch: Partial<FeedFilters>): void;
  clearFilters(): void;
  loadFeed(): Promise<void>;
  select(id: number | null): Promise<void>;
  loadRejected(): Promise<void>;
  loadDead(): Promise<void>;
  reprocess(input: { ids?: number[]; allDead?: boolean }): Promise<void>;
  sendTest(kind: TestKind): Promise<void>;
  loadSetup(reveal?: boolean): Promise<void>;
  loadGexTickers(): Promise<void>;
  selectGexTicker(ticker: string): Promise<void>;
  loadGex(): Promise<void>;
  /** Dials the Unusual Whales stream again now (after a refused token, or to skip a backoff wait). */
  reconnectStream(): Promise<void>;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function matchesFilters(item: FeedItem, f: FeedFilters): boolean {
  if (f.source && item.source !== f.source) return false;
  if (f.topic && !(item.topic ?? '').toLowerCase().includes(f.topic.toLowerCase())) return false;
  if (f.symbol && (item.symbol ?? '').toUpperCase() !== f.symbol.trim().toUpperCase()) return false;
  if (f.status && item.status !== f.status) return false;
  return true;
}

const isGexEvent = (e: FeedItem) => e.source === 'gex' || (e.topic ?? '').startsWith('gex') || e.topic === 'snapshot';

let feedReload: ReturnType<typeof setTimeout> | null = null;
let pageOpen = false;

/**
 * While the feed shows rows the processor has not finished, look again shortly: the live event announces
 * arrival, not processing, so this is how "pending" turns into "done" on screen.
 */
function refreshFeedSoon(): void {
  if (!pageOpen || feedReload !== null) return;
  if (!useWebhooks.getState().feed.some((f) => f.status === 'pending' || f.status === 'failed')) return;
  feedReload = setTimeout(() => {
    feedReload = null;
    void useWebhooks.getState().loadFeed();
    void useWebhooks.getState().refreshStatus();
  }, 1_500);
}

export const useWebhooks = create<WebhooksState>((set, get) => ({
  status: null,
  stream: null,
  filters: EMPTY_FILTERS,
  feed: [],
  feedError: null,
  selectedId: null,
  detail: null,
  detailError: null,
  rejected: [],
  dead: [],
  setup: null,
  revealSecret: false,
  testResult: null,
  testError: null,
  sending: false,
  reprocessing: false,
  message: null,
  gexTickers: [],
  gexTicker: '',
  gex: null,
  gexError: null,
  gexStale: false,

  async reconnectStream() {
    try {
      set({ stream: await api.call('webhooks.streamReconnect', {}) });
    } catch (err) {
      set({ message: `Reconnect failed: ${errorText(err)}` });
    }
  },

  start() {
    const offEvent = api.on('webhooks.event', (payload: EventPayload<'webhooks.event'>) => onLiveEvents(payload.events));
    const offStatus = api.on('webhooks.status', (status) => onStatus(status));
    const offStream = api.on('webhooks.stream', (stream) => set({ stream }));
    pageOpen = true;
    void get().refreshStatus();
    void get().loadFeed();
    void get().loadRejected();
    void get().loadDead();
    void get().loadSetup();
    void get().loadGexTickers();
    // Events cover changes as they happen; a slow poll catches anything missed while the socket reconnected.
    const timer = setInterval(() => void get().refreshStatus(), 5_000);
    return () => {
      pageOpen = false;
      if (feedReload !== null) clearTimeout(feedReload);
      feedReload = null;
      offEvent();
      offStatus();
      offStream();
      clearInterval(timer);
    };
  },

  async refreshStatus() {
    try {
      const status = await api.call('webhooks.status', {});
      onStatus(status);
    } catch (err) {
      set({ message: `Listener status unavailable: ${errorText(err)}` });
    }
  },

  setFilters(patch) {
    set({ filters: { ...get().filters, ...patch } });
    void get().loadFeed();
  },

  clearFilters() {
    set({ filters: EMPTY_FILTERS });
    void get().loadFeed();
  },

  async loadFeed() {
    const f = get().filters;
    try {
      const res = await api.call('webhooks.events', {
        limit: FEED_LIMIT,
        ...(f.source ? { source: f.source } : {}),
        ...(f.topic ? { topic: f.topic } : {}),
        ...(f.symbol ? { symbol: f.symbol.trim().toUpperCase() } : {}),
        ...(f.status ? { status: f.status } : {}),
      });
      // Filters may have changed while the call was out; only the latest answer counts.
      if (get().filters === f) set({ feed: res.items, feedError: null });
      redrawGexWhenProcessed();
      refreshFeedSoon();
    } catch (err) {
      set({ feedError: errorText(err) });
    }
  },

  async select(id) {
    set({ selectedId: id, detail: null, detailError: null });
    if (id === null) return;
    try {
      const detail = await api.call('webhooks.event', { id });
      if (get().selectedId !== id) return;
      // The detail is fresher than the feed row: carry its processing state over.
      const feed = get().feed.map((f) =>
        f.id === id ? { ...f, status: detail.status, attempts: detail.attempts, error: detail.error } : f,
      );
      set({ detail, feed });
    } catch (err) {
      if (get().selectedId === id) set({ detailError: errorText(err) });
    }
  },

  async loadRejected() {
    try {
      set({ rejected: (await api.call('webhooks.rejected', { limit: 100 })).items });
    } catch (err) {
      set({ message: `Rejected log unavailable: ${errorText(err)}` });
    }
  },

  async loadDead() {
    try {
      set({ dead: (await api.call('webhooks.deadLetters', { limit: 100 })).items });
    } catch (err) {
      set({ message: `Dead letters unavailable: ${errorText(err)}` });
    }
  },

  async reprocess(input) {
    set({ reprocessing: true, message: null });
    try {
      const { queued } = await api.call('webhooks.reprocess', input);
      set({ message: `Queued ${queued} event${queued === 1 ? '' : 's'} for re-processing` });
      await Promise.all([get().loadDead(), get().loadFeed(), get().refreshStatus()]);
    } catch (err) {
      set({ message: `Re-process failed: ${errorText(err)}` });
    } finally {
      set({ reprocessing: false });
    }
  },

  async sendTest(kind) {
    set({ sending: true, testError: null, testResult: null });
    try {
      const result = await api.call('webhooks.sendTest', { kind });
      set({ testResult: { ...result, kind } });
      if (result.status >= 400) void get().loadRejected();
    } catch (err) {
      set({ testError: errorText(err) });
    } finally {
      set({ sending: false });
    }
  },

  async loadSetup(reveal = get().revealSecret) {
    try {
      set({ setup: await api.call('webhooks.tradingViewSetup', { reveal }), revealSecret: reveal });
    } catch (err) {
      set({ message: `TradingView setup unavailable: ${errorText(err)}` });
    }
  },

  async loadGexTickers() {
    try {
      const { items } = await api.call('webhooks.gexTickers', {});
      set({ gexTickers: items });
      // The ticker whose data arrived last is the one the trader is most likely watching.
      const newest = items.reduce<(typeof items)[number] | null>((a, b) => (a === null || b.ts > a.ts ? b : a), null);
      if (!get().gexTicker && newest) await get().selectGexTicker(newest.ticker);
      else if (get().gexTicker) await get().loadGex();
    } catch (err) {
      set({ gexError: errorText(err) });
    }
  },

  async selectGexTicker(ticker) {
    set({ gexTicker: ticker.trim().toUpperCase(), gex: null, gexError: null });
    await get().loadGex();
  },

  async loadGex() {
    const ticker = get().gexTicker;
    if (!ticker) return;
    try {
      const { snapshot } = await api.call('webhooks.gexLatest', { ticker });
      if (get().gexTicker !== ticker) return;
      set({ gex: snapshot, gexError: null });
    } catch (err) {
      set({ gexError: errorText(err) });
    }
  },
}));

function onLiveEvents(events: FeedItem[]): void {
  const { filters, feed } = useWebhooks.getState();
  const fresh = events.filter((e) => matchesFilters(e, filters) && !feed.some((f) => f.id === e.id));
  if (fresh.length > 0) {
    const merged = [...fresh.sort((a, b) => b.id - a.id), ...feed].slice(0, FEED_LIMIT);
    useWebhooks.setState({ feed: merged });
    refreshFeedSoon();
  }
  const gex = events.filter(isGexEvent);
  if (gex.length > 0) {
    for (const e of gex) gexWaiting.add(e.id);
    useWebhooks.setState({ gexStale: true });
  }
}

/** GEX events the chart has not caught up with: redrawn once the processor has put them in their tables. */
const gexWaiting = new Set<number>();

function redrawGexWhenProcessed(): void {
  if (gexWaiting.size === 0) return;
  const settled = useWebhooks.getState().feed.filter((f) => gexWaiting.has(f.id) && (f.status === 'done' || f.status === 'dead'));
  if (settled.length === 0) return;
  for (const f of settled) gexWaiting.delete(f.id);
  useWebhooks.setState({ gexStale: gexWaiting.size > 0 });
  void useWebhooks.getState().loadGexTickers();
}

/** A status change means the processor moved rows: refresh what depends on processing, at most once a second. */
function onStatus(status: ListenerStatus): void {
  const state = useWebhooks.getState();
  const previous = state.status;
  useWebhooks.setState({ status, ...(status.stream ? { stream: status.stream } : {}) });
  const processed =
    !previous ||
    previous.inbox.done !== status.inbox.done ||
    previous.inbox.dead !== status.inbox.dead ||
    previous.inbox.failed !== status.inbox.failed;
  if (previous && previous.rejectedTotal !== status.rejectedTotal) void state.loadRejected();
  if (previous && previous.inbox.dead !== status.inbox.dead) void state.loadDead();
  if (!processed) return;
  if (gexWaiting.size > 0) {
    // The feed may be filtered so that the GEX rows are not in it: a processing step is reason enough to redraw.
    gexWaiting.clear();
    useWebhooks.setState({ gexStale: false });
    void state.loadGexTickers();
  }
  refreshFeedSoon();
}
