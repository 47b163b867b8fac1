/**
 * Network checks: the client address behind a loopback tunnel, the source-IP allowlist, and the
 * refusal of loopback/private/link-local URLs for history imports (SSRF).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { isPrivateAddress, stripMapped } from '../platform';

export function isLoopbackAddress(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = stripMapped(addr);
  return a === '::1' || a.startsWith('127.');
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || isLoopbackAddress(h);
}

const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'cf-connecting-ip', 'true-client-ip'];

export function hasForwardingHeaders(headers: Record<string, unknown>): boolean {
  return FORWARDING_HEADERS.some((h) => headers[h] !== undefined);
}

/**
 * The client as far as we can trust it: the socket peer, or — only when the peer is loopback
 * (a local tunnel such as cloudflared/ngrok) — the right-most X-Forwarded-For entry, which is
 * the address the tunnel itself saw (left-most entries can be forged by the sender).
 */
export function clientAddress(peer: string | undefined, headers: Record<string, string | string[] | undefined>): string {
  const p = stripMapped(peer ?? '');
  if (!isLoopbackAddress(p)) return p;
  const xff = headers['x-forwarded-for'];
  const value = Array.isArray(xff) ? xff.join(',') : xff;
  if (!value) return p;
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const last = parts[parts.length - 1];
  return last && isIP(stripMapped(last)) ? stripMapped(last) : p;
}

/**
 * The addresses TradingView sends webhooks from, as its help page publishes them ("About webhooks"); the
 * allowlist entry `tradingview` stands for these, so a trader does not paste them by hand.
 */
export const TRADINGVIEW_WEBHOOK_ADDRESSES = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7'] as const;

export class Allowlist {
  private readonly list = new BlockList();
  readonly size: number;
  readonly invalid: string[] = [];

  constructor(entries: readonly string[]) {
    let n = 0;
    const expanded = entries.flatMap((e) => (e.trim().toLowerCase() === 'tradingview' ? TRADINGVIEW_WEBHOOK_ADDRESSES : [e]));
    for (const raw of expanded) {
      const [addr, prefix] = raw.trim().split('/');
      const family = isIP(addr);
      if (!family) {
        this.invalid.push(raw);
        continue;
      }
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(addr, type);
      else {
        const bits = Number(prefix);
        if (!Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) {
          this.invalid.push(raw);
          continue;
        }
        this.list.addSubnet(addr, bits, type);
      }
      n++;
    }
    this.size = n;
  }

  /** An empty allowlist allows everyone. */
  allows(addr: string): boolean {
    if (this.size === 0) return true;
    const a = stripMapped(addr);
    const family = isIP(a);
    if (!family) return false;
    return this.list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  }
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; message: string };

/**
 * http(s) only; refuses loopback, private, link-local and similar targets unless allowed — both
 * as written and as the host name resolves now. A name that does not resolve now (no network, a
 * DNS hiccup) is accepted: the job is kept, and the importer checks every address again when it
 * connects (`publicOnlyLookup`), which is also what stops a name re-pointed later or a redirect.
 */
export async function checkPublicUrl(
  raw: string,
  options: { allowPrivate: boolean; resolve?: (host: string) => Promise<string[]> },
): Promise<UrlCheck> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: 'not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, message: 'only http:// and https:// URLs' };
  if (url.username || url.password) return { ok: false, message: 'URLs with credentials are refused' };
  if (options.allowPrivate) return { ok: true, url };
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal')) {
    return { ok: false, message: `${host} is a local host name (set WEBHOOK_ALLOW_PRIVATE_URLS to allow)` };
  }
  if (isIP(host)) {
    if (isPrivateAddress(host)) {
      return { ok: false, message: `${host} is a loopback/private/link-local address (set WEBHOOK_ALLOW_PRIVATE_URLS to allow)` };
    }
    return { ok: true, url };
  }
  const resolve =
    options.resolve ?? (async (h: string) => (await lookup(h, { all: true, verbatim: true })).map((r) => r.address));
  let addrs: string[];
  try {
    addrs = await Promise.race([
      resolve(host),
      new Promise<string[]>((_, reject) => setTimeout(() => reject(new Error('DNS timeout')), 2000).unref()),
    ]);
  } catch {
    return { ok: true, url };
  }
  const bad = addrs.find(isPrivateAddress);
  if (bad)
    return { ok: false, message: `${host} resolves to ${bad}, a private address (set WEBHOOK_ALLOW_PRIVATE_URLS to allow)` };
  return { ok: true, url };
}
