/**
 * The request body as the sender meant it, before anything reads it (signatures included): a
 * `Content-Encoding` (gzip, deflate, br — bridges that compress) undone within the body limit, so a
 * small compressed body cannot inflate past it, and a leading UTF-8 byte-order mark dropped (PowerShell
 * and some Windows tools send one; JSON.parse refuses it).
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { FieldIssue } from './payloads';

export class BodyDecodeError extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 415,
    readonly refusal: string,
    message: string,
    readonly issues: FieldIssue[],
  ) {
    super(message);
  }
}

const DECODERS: Record<string, (buf: Buffer, options: { maxOutputLength: number }) => Buffer> = {
  gzip: gunzipSync,
  'x-gzip': gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};

export function decodeBody(contentEncoding: string | undefined, raw: Buffer, limit: number): Buffer {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  let body = raw;
  for (const coding of codings.reverse()) {
    const decode = Object.hasOwn(DECODERS, coding) ? DECODERS[coding] : undefined;
    if (!decode) {
      throw new BodyDecodeError(415, 'unsupported_content_encoding', `Content-Encoding ${coding} is not supported`, [
        { path: ['content-encoding'], message: `got ${coding}`, hint: 'send the body uncompressed, or as gzip, deflate or br' },
      ]);
    }
    try {
      body = decode(body, { maxOutputLength: limit });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        throw new BodyDecodeError(413, 'body_too_large', `Body larger than ${limit} bytes once decompressed`, [
          { path: [], message: 'body too large', hint: `keep bodies under ${limit} bytes` },
        ]);
      }
      throw new BodyDecodeError(400, 'bad_content_encoding', `The body is not valid ${coding} data`, [
        { path: ['content-encoding'], message: (err as Error).message, hint: `send ${coding} data or drop the header` },
      ]);
    }
  }
  return body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
}

const UTF8_LABELS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii', 'unicode-1-1-utf-8']);

/**
 * The charset a Content-Type declares when it is not UTF-8 (or its ASCII subset), checked once the
 * headers are in: `text/plain; charset=iso-8859-1` from an older bridge is decoded as such instead of
 * turning every accented byte into U+FFFD. A charset this runtime cannot decode is a 415.
 */
export function declaredCharset(contentType: string | undefined): string | null {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  if (!m) return null;
  const label = m[1].toLowerCase();
  if (UTF8_LABELS.has(label)) return null;
  try {
    new TextDecoder(label);
  } catch {
    throw new BodyDecodeError(415, 'unsupported_charset', `charset ${m[1]} is not supported`, [
      { path: ['content-type'], message: `got charset=${m[1]}`, hint: 'send the body as UTF-8 (charset=utf-8)' },
    ]);
  }
  return label;
}

/** The body as text, in its declared charset (`declaredCharset`); UTF-8 otherwise. */
export function bodyText(body: Buffer, charset: string | null): string {
  return charset === null ? body.toString('utf8') : new TextDecoder(charset).decode(body);
}
