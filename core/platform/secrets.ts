import { hash, timingSafeEqual } from 'node:crypto';

/** Digests of the few secrets in use (the webhook secret, the control token), so each is hashed once. */
const digests = new Map<string, Buffer>();

/**
 * Constant-time string equality for secrets and tokens: both sides are hashed first so neither
 * their content nor their lengths leak through timing. An empty secret never matches.
 */
export function secretEquals(given: unknown, secret: string): boolean {
  if (typeof given !== 'string' || secret.length === 0) return false;
  let digest = digests.get(secret);
  if (!digest) {
    if (digests.size >= 8) digests.clear();
    digest = hash('sha256', secret, 'buffer');
    digests.set(secret, digest);
  }
  return timingSafeEqual(hash('sha256', given, 'buffer'), digest);
}
