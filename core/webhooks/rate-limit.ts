/** A token bucket per key (source + client): `rate` tokens per second, up to `burst`. */
export class TokenBuckets {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private rate: number,
    private burst: number,
  ) {}

  configure(rate: number, burst: number): void {
    this.rate = rate;
    this.burst = burst;
  }

  /** Takes one token; when none is left, says how many seconds until one is. */
  take(key: string, nowMs: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 10_000) this.prune(nowMs);
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(key, b);
    } else {
      const elapsed = Math.max(0, nowMs - b.at) / 1000;
      b.tokens = Math.min(this.burst, b.tokens + elapsed * this.rate);
      b.at = nowMs;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.rate)) };
  }

  private prune(nowMs: number): void {
    const full = this.burst / this.rate;
    for (const [k, b] of this.buckets) if ((nowMs - b.at) / 1000 > full) this.buckets.delete(k);
  }
}
