/**
 * Opens a staged file as a stream of plain JSON bytes, whatever the provider served: gzip,
 * zstd (Node 22's zlib), a zip archive (its first non-directory entry, stored or deflated), or plain.
 * The format is read from the file's magic bytes, not from its name or Content-Type.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip, createInflateRaw, createZstdDecompress } from 'node:zlib';
import { AppError } from '../platform';

export type Encoding = 'plain' | 'gzip' | 'zstd' | 'zip';

const READ_CHUNK = 1 << 20;

export async function sniffEncoding(path: string): Promise<Encoding> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    return 'plain';
  } finally {
    await fh.close();
  }
}

/** A readable of the decompressed content; errors surface as stream errors. */
export async function openDecoded(path: string): Promise<{ stream: Readable; encoding: Encoding; entry?: string }> {
  const encoding = await sniffEncoding(path);
  if (encoding === 'plain') return { stream: createReadStream(path, { highWaterMark: READ_CHUNK }), encoding };
  if (encoding === 'gzip')
    return { stream: createReadStream(path, { highWaterMark: READ_CHUNK }).pipe(createGunzip()), encoding };
  if (encoding === 'zstd') {
    return { stream: createReadStream(path, { highWaterMark: READ_CHUNK }).pipe(createZstdDecompress()), encoding };
  }
  const entry = await firstZipEntry(path);
  const raw = createReadStream(path, {
    start: entry.dataOffset,
    end: entry.dataOffset + entry.compressedSize - 1,
    highWaterMark: READ_CHUNK,
  });
  const stream = entry.method === 0 ? raw : raw.pipe(createInflateRaw());
  return { stream, encoding, entry: entry.name };
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  dataOffset: number;
}

/** Reads the central directory (the local headers may defer sizes to a data descriptor). */
async function firstZipEntry(path: string): Promise<ZipEntry> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const tailLen = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw badZip('no end of central directory (truncated archive?)');
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (cdOffset === 0xffffffff) throw badZip('zip64 archives are not supported; serve gzip or zstd instead');
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    let p = 0;
    for (let e = 0; e < entries; e++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw badZip('corrupt central directory');
      const method = cd.readUInt16LE(p + 10);
      const compressedSize = cd.readUInt32LE(p + 20);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
      p += 46 + nameLen + extraLen + commentLen;
      if (name.endsWith('/')) continue;
      if (method !== 0 && method !== 8)
        throw badZip(`entry ${name} uses compression method ${method}; only stored and deflate are supported`);
      const local = Buffer.alloc(30);
      await fh.read(local, 0, 30, localOffset);
      if (local.readUInt32LE(0) !== 0x04034b50) throw badZip('corrupt local header');
      const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      return { name, method, compressedSize, dataOffset };
    }
    throw badZip('the archive holds no file');
  } finally {
    await fh.close();
  }
}

function badZip(why: string): AppError {
  return new AppError('IMPORT_BAD_ARCHIVE', `The zip archive cannot be read: ${why}`);
}
