/**
 * Fetches a history file into the staging folder: http(s) only, streamed to disk with a SHA-256
 * computed on the way, a size limit, a stall timeout, and retries with backoff on network errors
 * and 5xx. The bytes are stored as served (gzip/zstd/zip stay compressed; `decode.ts` opens them).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { type Clock, isPrivateAddress, privateAddressRefused, publicOnlyLookup, retry, systemClock } from '../platform';
import { AppError, errorMessage } from '../platform/errors';

export interface DownloadOptions {
  maxBytes: number;
  /** Abandon an attempt after this long without receiving a byte. */
  stallTimeoutMs: number;
  attempts: number;
  backoffBaseMs?: number;
  signal?: AbortSignal;
  /** Refuse private/loopback/link-local targets, as written or as resolved at connect time, redirects included. */
  publicOnly?: boolean;
  clock?: Clock;
  onProgress?: (bytesDone: number, bytesTotal: number | null) => void;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  contentType: string | null;
  contentEncoding: string | null;
}

const MAX_REDIRECTS = 5;

/** Refuses anything that is not an absolute http(s) URL. */
export function parseHttpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('IMPORT_BAD_URL', `"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('IMPORT_BAD_URL', `Only http and https URLs can be imported, got ${url.protocol}`);
  }
  return url;
}

export async function downloadToFile(rawUrl: string, dest: string, options: DownloadOptions): Promise<DownloadResult> {
  const url = parseHttpUrl(rawUrl);
  return retry((attempt) => downloadOnce(url, dest, options, attempt), {
    attempts: options.attempts,
    baseMs: options.backoffBaseMs ?? 500,
    maxMs: 30_000,
    jitter: 0.2,
    clock: options.clock ?? systemClock,
    signal: options.signal,
    shouldRetry: (err) => err instanceof AppError && (err.details as { retryable?: boolean } | undefined)?.retryable === true,
    onRetry: options.onRetry,
  });
}

async function downloadOnce(url: URL, dest: string, options: DownloadOptions, attempt: number): Promise<DownloadResult> {
  try {
    return await fetchTo(url, dest, options, 0);
  } catch (err) {
    await rm(dest, { force: true }).catch(() => undefined);
    if (err instanceof AppError) throw err;
    throw classify(err, url, attempt);
  }
}

function classify(err: unknown, url: URL, attempt: number): AppError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const fsError = ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EISDIR'].includes(code);
  if (fsError || (code === 'ENOENT' && (err as NodeJS.ErrnoException).path)) {
    return new AppError(
      'IMPORT_DISK',
      `Cannot write the staging file (${code}: ${errorMessage(err)}); free space or fix the data folder's permissions`,
      {
        status: 507,
        cause: err,
      },
    );
  }
  if ((err as Error).name === 'AbortError') return new AppError('IMPORT_CANCELLED', 'The download was cancelled', { cause: err });
  return new AppError('IMPORT_NETWORK', `Downloading ${url.href} failed on attempt ${attempt}: ${errorMessage(err)}`, {
    status: 502,
    details: { retryable: true },
    cause: err,
  });
}

function fetchTo(url: URL, dest: string, options: DownloadOptions, redirects: number): Promise<DownloadResult> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (options.publicOnly && isPrivateAddress(host)) return Promise.reject(privateAddressRefused(host, host));
  return new Promise<DownloadResult>((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    let settled = false;
    let out: WriteStream | undefined;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      req.destroy();
      out?.destroy();
      reject(err);
    };
    const req = lib.get(
      url,
      {
        headers: { 'accept-encoding': 'gzip, zstd, identity', 'user-agent': 'marketdesk-import' },
        signal: options.signal,
        // A fresh connection (no pooled keep-alive socket another request opened) whose addresses are checked.
        ...(options.publicOnly ? { lookup: publicOnlyLookup, agent: false } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) return fail(new AppError('IMPORT_HTTP', `Too many redirects from ${url.href}`));
          let next: URL;
          try {
            next = parseHttpUrl(new URL(res.headers.location, url).href);
          } catch (err) {
            return fail(err);
          }
          settled = true;
          fetchTo(next, dest, options, redirects + 1).then(resolve, reject);
          return;
        }
        if (status !== 200) {
          res.resume();
          const retryable = status >= 500 || status === 429 || status === 408;
          return fail(
            new AppError('IMPORT_HTTP', `The server answered ${status} ${res.statusMessage ?? ''} for ${url.href}`.trim(), {
              status: 502,
              details: { retryable, httpStatus: status },
            }),
          );
        }
        const declared = res.headers['content-length'] ? Number(res.headers['content-length']) : null;
        if (declared !== null && declared > options.maxBytes) {
          res.resume();
          return fail(tooLarge(declared, options.maxBytes, url));
        }
        const hash = createHash('sha256');
        out = createWriteStream(dest);
        const file = out;
        let bytes = 0;
        file.on('error', fail);
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('the server closed the connection mid-file')));
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > options.maxBytes) return fail(tooLarge(bytes, options.maxBytes, url));
          hash.update(chunk);
          options.onProgress?.(bytes, declared);
          if (!file.write(chunk)) {
            res.pause();
            file.once('drain', () => res.resume());
          }
        });
        res.on('end', () => {
          if (settled) return;
          if (declared !== null && bytes !== declared) {
            return fail(new Error(`the connection ended after ${bytes} of ${declared} bytes`));
          }
          file.end(() => {
            if (settled) return;
            settled = true;
            resolve({
              bytes,
              sha256: hash.digest('hex'),
              contentType: res.headers['content-type'] ?? null,
              contentEncoding: (res.headers['content-encoding'] as string | undefined) ?? null,
            });
          });
        });
      },
    );
    req.setTimeout(options.stallTimeoutMs, () =>
      fail(
        new AppError('IMPORT_TIMEOUT', `No data from ${url.host} for ${Math.round(options.stallTimeoutMs / 1000)} s`, {
          status: 504,
          details: { retryable: true },
        }),
      ),
    );
    req.on('error', fail);
  });
}

function tooLarge(bytes: number, max: number, url: URL): AppError {
  return new AppError(
    'IMPORT_TOO_LARGE',
    `${url.href} is larger than the import limit (${bytes} > ${max} bytes); raise IMPORT_MAX_BYTES to allow it`,
    { status: 413 },
  );
}

/** A local file accepted as is: size-checked and hashed, not copied. */
export async function hashLocalFile(path: string, maxBytes: number, onProgress?: (done: number, total: number) => void) {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new AppError('IMPORT_BAD_PATH', `${path} is not a file`);
    size = s.size;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('IMPORT_BAD_PATH', `Cannot read ${path}: ${errorMessage(err)}`);
  }
  if (size > maxBytes) {
    throw new AppError('IMPORT_TOO_LARGE', `${path} is larger than the import limit (${size} > ${maxBytes} bytes)`, {
      status: 413,
    });
  }
  const hash = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    onProgress?.(done, size);
  }
  return { bytes: size, sha256: hash.digest('hex') };
}
