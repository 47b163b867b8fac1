/** The one retry/backoff helper: capped exponential backoff with jitter. */
import { type Clock, systemClock } from './clock';

export interface BackoffPolicy {
  /** First delay in ms. */
  baseMs: number;
  /** Upper bound for any single delay. */
  maxMs: number;
  factor?: number;
  /** 0..1: fraction of the delay that is randomised. */
  jitter?: number;
}

export interface RetryOptions extends BackoffPolicy {
  /** Total tries including the first one. */
  attempts: number;
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  clock?: Clock;
  random?: () => number;
}

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const raw = policy.baseMs * (policy.factor ?? 2) ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxMs, raw);
  const jitter = policy.jitter ?? 0;
  return Math.round(capped * (1 - jitter + jitter * random()));
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const retryable = options.shouldRetry ? options.shouldRetry(err, attempt) : true;
      if (attempt >= options.attempts || !retryable || options.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, options, options.random);
      options.onRetry?.(err, attempt, delay);
      await clock.sleep(delay, options.signal);
    }
  }
}
