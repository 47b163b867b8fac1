/** Shared pieces for the import tests: history files, a local file server, table checksums. */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateRawSync } from 'node:zlib';
import type { Warehouse } from '../../core/storage';

export interface SnapshotOptions {
  ticker?: string;
  /** First timestamp, epoch seconds (default 2026-01-05 14:31 UTC = 09:31 New York). */
  start?: number;
  count?: number;
  strikes?: number;
  /** Cadence in seconds. */
  step?: number;
}

export function snapshots(o: SnapshotOptions = {}): Record<string, unknown>[] {
  const start = o.start ?? Date.UTC(2026, 0, 5, 14, 31) / 1000;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < (o.count ?? 10); i++) {
    const spot = 7000 + i * 0.5;
    const strikes: unknown[] = [];
    for (let k = 0; k < (o.strikes ?? 20); k++) {
      const strike = 6950 + k * 5;
      strikes.push([
        strike,
        Number((Math.sin(i + k) * 500).toFixed(2)),
        Number((Math.cos(i + k) * 300).toFixed(2)),
        [1, 2, 3, 4, 5],
      ]);
    }
    out.push({
      timestamp: start + i * (o.step ?? 60),
      ticker: o.ticker ?? 'SPX',
      min_dte: 0,
      sec_min_dte: 1,
      spot,
      zero_gamma: 6990,
      major_pos_vol: 7000,
      major_pos_oi: 7010,
      major_neg_vol: 6980,
      major_neg_oi: 6960,
      strikes,
      sum_gex_vol: 1000,
      sum_gex_oi: 500,
      delta_risk_reversal: 0.1,
      max_priors: [
        [7000, 1],
        [7000, 2],
      ],
    });
  }
  return out;
}

export type Route = (req: IncomingMessage, res: ServerResponse) => void;

export interface FileServer {
  url(path: string): string;
  hits(path: string): number;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1:0 serving the given routes. */
export async function serveFiles(routes: Record<string, Route>): Promise<FileServer> {
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const route = routes[path];
    if (!route) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    route(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    hits: (p) => counts.get(p) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const body =
  (data: Buffer | string, headers: Record<string, string> = {}): Route =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)), ...headers });
    res.end(data);
  };

/** Count plus an order-independent hash of every row: equal before and after means unchanged. */
export async function tableChecksums(w: Warehouse): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, cols] of [
    ['gex_snapshots', 'ticker, category, ts, source, spot, zero_gamma, major_pos_vol, max_priors, extra'],
    ['gex_strikes', 'ticker, category, ts, expiry, strike, source, gex_vol, gex_oi, priors'],
  ] as const) {
    const [r] = await w.rows<{ n: number; h: string }>(
      `SELECT count(*)::BIGINT AS n, coalesce(sum(hash(${cols}))::VARCHAR, '0') AS h FROM ${table}`,
    );
    out[table] = `${r?.n}:${r?.h}`;
  }
  return out;
}

export const TEST_ENV: Record<string, string> = {
  WEBHOOK_PORT: '0',
  BACKUP_SCHEDULE: '',
  IMPORT_TIMEOUT_SECONDS: '5',
  IMPORT_DOWNLOAD_ATTEMPTS: '2',
};

/** A one-entry zip archive (deflate), as a provider might serve a history file. */
export function zipOf(name: string, content: string | Buffer): Buffer {
  return zipArchive([{ name, content }]);
}

export interface ZipEntrySpec {
  /** Ends with "/" for a directory. */
  name: string;
  content?: string | Buffer;
  /** 0 stored, 8 deflate (default); any other method is written as stored bytes labelled with it. */
  method?: number;
  /** Sizes and CRC left out of the local header and written in a data descriptor, as streaming zippers do. */
  dataDescriptor?: boolean;
}

/** A zip archive written by hand (no dependency), entries in the given order. */
export function zipArchive(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.content ?? '');
    const method = e.method ?? (e.name.endsWith('/') ? 0 : 8);
    const packed = method === 8 ? deflateRawSync(data) : data;
    const fileName = Buffer.from(e.name);
    const crc = crc32(data);
    const flags = e.dataDescriptor ? 0x08 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    if (!e.dataDescriptor) {
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(packed.length, 18);
      local.writeUInt32LE(data.length, 22);
    }
    local.writeUInt16LE(fileName.length, 26);
    const parts = [local, fileName, packed];
    if (e.dataDescriptor) {
      const descriptor = Buffer.alloc(16);
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(packed.length, 8);
      descriptor.writeUInt32LE(data.length, 12);
      parts.push(descriptor);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(...parts);
    centrals.push(central, fileName);
    offset += parts.reduce((n, b) => n + b.length, 0);
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
