/**
 * Authentication for webhook routes: a shared secret compared in constant time (path token,
 * body passphrase, `Authorization: Bearer`) or the Standard Webhooks signature scheme
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256("id.ts.body")>`,
 * several space-separated signatures for key rotation, 5-minute tolerance).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { secretEquals } from '../platform';

export { secretEquals };

export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

/** `whsec_<base64>` is a Standard Webhooks key; anything else is used as raw UTF-8 bytes. */
export function signingKey(secret: string): Buffer {
  if (secret.startsWith('whsec_')) return Buffer.from(secret.slice(6), 'base64');
  return Buffer.from(secret, 'utf8');
}

/**
 * The keys a signature may be made with: `signingKey`, and — for a secret without the `whsec_` prefix that is
 * itself canonical base64 — its decoded bytes too, because Standard Webhooks libraries (the reference
 * `standardwebhooks` package among them) base64-decode the secret they are given, prefix or not.
 */
export function verificationKeys(secret: string): Buffer[] {
  if (cachedKeys?.secret === secret) return cachedKeys.keys;
  const keys = [signingKey(secret)];
  if (!secret.startsWith('whsec_') && secret.length >= 16) {
    const decoded = Buffer.from(secret, 'base64');
    if (decoded.length > 0 && decoded.toString('base64').replace(/=+$/, '') === secret.replace(/=+$/, '')) keys.push(decoded);
  }
  cachedKeys = { secret, keys };
  return keys;
}
let cachedKeys: { secret: string; keys: Buffer[] } | null = null;

export function signStandardWebhook(key: Buffer, id: string, timestampSeconds: number, body: Buffer | string): string {
  const mac = createHmac('sha256', key);
  mac.update(`${id}.${timestampSeconds}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

export type SignatureCheck = { ok: true; id: string } | { ok: false; code: string; message: string };

export function hasSignatureHeaders(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['webhook-signature'] !== undefined || headers['webhook-id'] !== undefined;
}

export function verifyStandardWebhook(
  keys: readonly Buffer[],
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  nowMs: number,
): SignatureCheck {
  const id = first(headers['webhook-id']);
  const ts = first(headers['webhook-timestamp']);
  const sig = first(headers['webhook-signature']);
  if (!id || !ts || !sig) {
    return {
      ok: false,
      code: 'signature_headers_missing',
      message: 'webhook-id, webhook-timestamp and webhook-signature are all required',
    };
  }
  if (id.length > 256) return { ok: false, code: 'bad_signature', message: 'webhook-id is longer than 256 characters' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, code: 'bad_timestamp', message: 'webhook-timestamp must be epoch seconds' };
  const seconds = Number(ts);
  const now = Math.floor(nowMs / 1000);
  if (Math.abs(now - seconds) > SIGNATURE_TOLERANCE_SECONDS) {
    return {
      ok: false,
      code: 'timestamp_out_of_tolerance',
      message: `webhook-timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS}s away from now (replayed or clock skew)`,
    };
  }
  const expected = keys.map((key) => Buffer.from(signStandardWebhook(key, id, seconds, body).slice(3), 'base64'));
  let matched = false;
  for (const part of sig.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(part.slice(comma + 1), 'base64');
    // Evaluate every candidate (no early exit) so timing does not reveal which one matched.
    for (const e of expected) if (given.length === e.length && timingSafeEqual(given, e)) matched = true;
  }
  if (!matched) return { ok: false, code: 'bad_signature', message: 'no webhook-signature matches the body' };
  return { ok: true, id };
}

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const h = first(header);
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m ? m[1].trim() : undefined;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
