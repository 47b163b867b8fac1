/**
 * Which network addresses count as private (loopback, RFC 1918, CGNAT, link-local, multicast, …), and a
 * DNS lookup for outgoing requests that refuses them — the SSRF guard of URLs that came from outside
 * (a webhook-submitted history URL), applied when the connection is made, so a name that resolved to a
 * public address when it was submitted cannot point inside later (DNS rebinding, redirects).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { AppError } from './errors';

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; anything else unchanged. */
export function stripMapped(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/** True for an IP literal in a private/loopback/link-local/reserved range (IPv4-mapped IPv6 included). */
export function isPrivateAddress(addr: string): boolean {
  const a = stripMapped(addr.replace(/^\[|\]$/g, ''));
  const family = isIP(a);
  if (!family) return false;
  return PRIVATE.check(a, family === 6 ? 'ipv6' : 'ipv4');
}

export function privateAddressRefused(host: string, addr: string): AppError {
  const what = host === addr ? addr : `${host} (${addr})`;
  return new AppError(
    'URL_REFUSED',
    `${what} is a loopback/private/link-local address; set WEBHOOK_ALLOW_PRIVATE_URLS to allow it`,
    { status: 422 },
  );
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s) requests (Node calls it with or without `all`) that fails with URL_REFUSED when
 * any address the name resolves to is private. IP literals never reach a lookup: check them with
 * `isPrivateAddress` before connecting.
 */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(privateAddressRefused(hostname, bad.address) as unknown as NodeJS.ErrnoException, []);
    if (options.all) return callback(null, addresses);
    const [firstAddress] = addresses;
    callback(null, firstAddress.address, firstAddress.family);
  });
}
