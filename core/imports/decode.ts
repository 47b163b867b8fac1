/**
 * Opens a staged file as one or more streams of plain JSON bytes, whatever the provider served:
 * gzip, zstd (Node 22's zlib) or plain (one entry each), or a zip archive. The format is read from
 * the file's magic bytes, not from its name or Content-Type.
 *
 * A zip yields every file entry, in central-directory order: a trader zips a week of history, one
 * file per ticker and day, and each one is a JSON document of its own. Skipped: directories and the
 * metadata macOS's archiver adds (`__MACOSX/…`, `._*` resource forks, `.DS_Store`), which are not
 * history. Every entry is checked before any is read (method stored or deflate, no encryption, no
 * zip64, a local header where the directory says), so an archive we cannot fully read is refused
 * before anything of it is staged rather than half imported.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { pipeline, Readable, type Transform } from 'node:stream';
import { createGunzip, createInflateRaw, createZstdDecompress } from 'node:zlib';
import { AppError } from '../platform';

export type Encoding = 'plain' | 'gzip' | 'zstd' | 'zip';

/** One document of the staged file; `open` is called when it is read, so one stream is open at a time. */
export interface DecodedEntry {
  /** The zip entry's name; undefined for a plain, gzip or zstd file. */
  name?: string;
  open(): Readable;
}

export interface Decoded {
  encoding: Encoding;
  entries: DecodedEntry[];
}

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

/** The file's documents, decompressed; read errors surface as stream errors. */
export async function openDecodedEntries(path: string): Promise<Decoded> {
  const encoding = await sniffEncoding(path);
  const whole = () => createReadStream(path, { highWaterMark: READ_CHUNK });
  if (encoding === 'plain') return { encoding, entries: [{ open: whole }] };
  if (encoding === 'gzip') return { encoding, entries: [{ open: () => through(whole(), createGunzip()) }] };
  if (encoding === 'zstd') return { encoding, entries: [{ open: () => through(whole(), createZstdDecompress()) }] };
  const entries = await zipEntries(path);
  return { encoding, entries: entries.map((entry) => ({ name: entry.name, open: () => openZipEntry(path, entry) })) };
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  dataOffset: number;
}

function openZipEntry(path: string, entry: ZipEntry): Readable {
  // createReadStream refuses an empty range; an empty entry reads as an empty document.
  if (entry.compressedSize === 0) return Readable.from([]);
  const raw = createReadStream(path, {
    start: entry.dataOffset,
    end: entry.dataOffset + entry.compressedSize - 1,
    highWaterMark: READ_CHUNK,
  });
  return entry.method === 0 ? raw : through(raw, createInflateRaw());
}

/** Unlike `.pipe`, a read error reaches the consumer and destroying the result closes the file. */
function through(raw: Readable, decompress: Transform): Readable {
  return pipeline(raw, decompress, () => undefined);
}

/** Reads the central directory (the local headers may defer sizes to a data descriptor). */
async function zipEntries(path: string): Promise<ZipEntry[]> {
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
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (cdOffset === 0xffffffff || cdSize === 0xffffffff || count === 0xffff) throw zip64();
    if (cdOffset + cdSize > size) throw badZip('corrupt central directory');
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let e = 0; e < count; e++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw badZip('corrupt central directory');
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const compressedSize = cd.readUInt32LE(p + 20);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const name = cd.subarray(p + 46, p + 46 + nameLen).toString('utf8');
      p += 46 + nameLen + extraLen + commentLen;
      if (isSkipped(name)) continue;
      if (method !== 0 && method !== 8)
        throw badZip(`entry ${name} uses compression method ${method}; only stored and deflate are supported`);
      if (flags & 1) throw badZip(`entry ${name} is encrypted`);
      if (compressedSize === 0xffffffff || localOffset === 0xffffffff) throw zip64();
      const dataOffset = await localDataOffset(fh, name, localOffset);
      if (dataOffset + compressedSize > cdOffset) throw badZip(`entry ${name} runs past the end of its data`);
      entries.push({ name, method, compressedSize, dataOffset });
    }
    if (entries.length === 0) throw badZip('the archive holds no file');
    return entries;
  } finally {
    await fh.close();
  }
}

/** Directories, and the metadata macOS's Archive Utility adds beside the files it zips. */
function isSkipped(name: string): boolean {
  if (name.endsWith('/') || name.startsWith('__MACOSX/')) return true;
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base.startsWith('._') || base === '.DS_Store';
}

async function localDataOffset(fh: FileHandle, name: string, localOffset: number): Promise<number> {
  const local = Buffer.alloc(30);
  const { bytesRead } = await fh.read(local, 0, 30, localOffset);
  if (bytesRead < 30 || local.readUInt32LE(0) !== 0x04034b50) throw badZip(`corrupt local header of entry ${name}`);
  // The local name and extra field may differ in length from the central directory's.
  return localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
}

function zip64(): AppError {
  return badZip('zip64 archives are not supported; serve gzip or zstd instead');
}

function badZip(why: string): AppError {
  return new AppError('IMPORT_BAD_ARCHIVE', `The zip archive cannot be read: ${why}`);
}
