/**
 * PacingLimiter: the one gate every historical request passes. Pure bookkeeping over an injected Clock.
 *
 * Rules (IBKR-NOTES): no identical request within 15 s; fewer than 6 requests (so at most 5) for the same
 * contract, exchange and tick type within 2 s; at most 60 in any 10 minutes; BID_ASK counts twice. IBKR
 * applies these hard limits to bars of 30 seconds or less, so by default they are applied to those
 * (`rulesApplyTo: 'small-bars'`); bigger bars only get the cap on simultaneous open requests plus the
 * 162-retry in the source (IBKR's "soft throttle"). Applying the 60/10 min rule to daily bars would make a
 * 50-symbol refresh wait minutes for nothing. `rulesApplyTo: 'all'` applies every rule to every request.
 *
 * Simultaneous open requests default to 6: IBKR allows 50 (error 322), but a handful in flight already
 * saturates the gateway's historical farm and keeps the soft throttle quiet.
 */
import { type Clock, systemClock } from '../platform';
import { isSmallBar } from './durations';
import type { BarSize, WhatToShow } from './types';

export interface PacingOptions {
  clock?: Clock;
  /** Cap on simultaneous open requests (default 6). */
  maxConcurrent?: number;
  identicalWindowMs?: number;
  burstWindowMs?: number;
  /** Most requests per contract/exchange/tick type within `burstWindowMs` (default 5: IBKR's violation is 6). */
  burstMax?: number;
  windowMs?: number;
  windowMax?: number;
  rulesApplyTo?: 'small-bars' | 'all';
  /**
   * Added to every time window (default 250 ms): IBKR measures when requests arrive, and the client's own
   * send queue can delay one request more than the next, so a request released at exactly the edge of a
   * window could still count inside it at the gateway.
   */
  marginMs?: number;
}

export interface PacingRequest {
  /** Everything that makes two requests "identical" (contract, end, duration, bar size, what, RTH). */
  identity: string;
  /** Contract + exchange + tick type. */
  contract: string;
  barSize: BarSize;
  whatToShow: WhatToShow;
}

export type Release = () => void;

interface Entry {
  at: number;
  identity: string;
  contract: string;
  weight: number;
}

interface Waiter {
  request: PacingRequest;
  resolve: (release: Release) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  enqueuedAt: number;
}

export interface PacingStats {
  granted: number;
  /** Grants that had to wait for a pacing rule or a free slot. */
  delayed: number;
  totalWaitMs: number;
  maxOpen: number;
}

export class PacingLimiter {
  readonly clock: Clock;
  readonly maxConcurrent: number;
  private readonly identicalWindowMs: number;
  private readonly burstWindowMs: number;
  private readonly burstMax: number;
  private readonly windowMs: number;
  private readonly windowMax: number;
  private readonly rulesApplyTo: 'small-bars' | 'all';
  private history: Entry[] = [];
  private queue: Waiter[] = [];
  private openCount = 0;
  private pumping = false;
  private wake: (() => void) | null = null;
  readonly stats: PacingStats = { granted: 0, delayed: 0, totalWaitMs: 0, maxOpen: 0 };

  constructor(options: PacingOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? 6);
    const margin = options.marginMs ?? 250;
    this.identicalWindowMs = (options.identicalWindowMs ?? 15_000) + margin;
    this.burstWindowMs = (options.burstWindowMs ?? 2_000) + margin;
    this.burstMax = options.burstMax ?? 5;
    this.windowMs = (options.windowMs ?? 600_000) + margin;
    this.windowMax = options.windowMax ?? 60;
    this.rulesApplyTo = options.rulesApplyTo ?? 'small-bars';
  }

  get open(): number {
    return this.openCount;
  }

  get waiting(): number {
    return this.queue.length;
  }

  private subject(request: PacingRequest): boolean {
    return this.rulesApplyTo === 'all' || isSmallBar(request.barSize);
  }

  private weight(request: PacingRequest): number {
    return request.whatToShow === 'BID_ASK' ? 2 : 1;
  }

  /** Ms until the pacing rules allow `request` (0 = now), ignoring the concurrency cap. */
  delayFor(request: PacingRequest, now = this.clock.now()): number {
    if (!this.subject(request)) return 0;
    this.prune(now);
    const weight = this.weight(request);
    let delay = 0;
    for (const e of this.history) {
      if (e.identity === request.identity) delay = Math.max(delay, e.at + this.identicalWindowMs - now);
    }
    const burst = this.history.filter((e) => e.contract === request.contract && e.at > now - this.burstWindowMs);
    delay = Math.max(delay, this.waitForRoom(burst, this.burstMax, weight, this.burstWindowMs, now));
    const inWindow = this.history.filter((e) => e.at > now - this.windowMs);
    delay = Math.max(delay, this.waitForRoom(inWindow, this.windowMax, weight, this.windowMs, now));
    return Math.max(0, delay);
  }

  /** How long until enough of `entries` (oldest first) age out of `windowMs` to fit `weight` under `max`. */
  private waitForRoom(entries: Entry[], max: number, weight: number, windowMs: number, now: number): number {
    let used = entries.reduce((s, e) => s + e.weight, 0);
    if (used + weight <= max) return 0;
    for (const e of entries) {
      used -= e.weight;
      if (used + weight <= max) return e.at + windowMs - now;
    }
    return 0;
  }

  private prune(now: number): void {
    const horizon = now - Math.max(this.windowMs, this.identicalWindowMs, this.burstWindowMs);
    if (this.history.length && this.history[0].at <= horizon) this.history = this.history.filter((e) => e.at > horizon);
  }

  /** Waits until the request may be sent; call the returned release when its answer (or failure) is in. */
  acquire(request: PacingRequest, signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = { request, resolve, reject, signal, enqueuedAt: this.clock.now() };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal.reason ?? new Error('aborted'));
          this.poke();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.poke();
    });
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
    void this.pump();
  }

  private grant(waiter: Waiter, now: number): void {
    this.queue.splice(this.queue.indexOf(waiter), 1);
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
    if (this.subject(waiter.request)) {
      this.history.push({
        at: now,
        identity: waiter.request.identity,
        contract: waiter.request.contract,
        weight: this.weight(waiter.request),
      });
    }
    this.openCount++;
    this.stats.granted++;
    this.stats.maxOpen = Math.max(this.stats.maxOpen, this.openCount);
    const waited = now - waiter.enqueuedAt;
    if (waited > 0) {
      this.stats.delayed++;
      this.stats.totalWaitMs += waited;
    }
    let released = false;
    waiter.resolve(() => {
      if (released) return;
      released = true;
      this.openCount--;
      this.poke();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const now = this.clock.now();
        let minDelay = Number.POSITIVE_INFINITY;
        let granted = false;
        for (const waiter of [...this.queue]) {
          if (this.openCount >= this.maxConcurrent) break;
          const d = this.delayFor(waiter.request, now);
          if (d <= 0) {
            this.grant(waiter, now);
            granted = true;
          } else minDelay = Math.min(minDelay, d);
        }
        if (granted) continue;
        if (this.queue.length === 0) break;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.openCount < this.maxConcurrent && Number.isFinite(minDelay)) void this.clock.sleep(minDelay).then(resolve);
        });
        this.wake = null;
      }
    } finally {
      this.pumping = false;
    }
  }
}

/** The pacing identity of one historical request. */
export function pacingRequest(input: {
  contractKey: string;
  exchange: string;
  endDateTime: string;
  durationStr: string;
  barSize: BarSize;
  whatToShow: WhatToShow;
  useRTH: boolean;
}): PacingRequest {
  return {
    identity: [
      input.contractKey,
      input.endDateTime,
      input.durationStr,
      input.barSize,
      input.whatToShow,
      input.useRTH ? 1 : 0,
    ].join('|'),
    contract: [input.contractKey, input.exchange, input.whatToShow].join('|'),
    barSize: input.barSize,
    whatToShow: input.whatToShow,
  };
}
