/** The staged file's documents: every zip entry in order, checked before any is read. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openDecodedEntries } from '../../core/imports/decode';
import { removeDir, tempDir } from '../support/temp';
import { zipArchive } from './support';

const dir = tempDir();
afterAll(() => removeDir(dir));

async function staged(name: string, content: Buffer | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('openDecodedEntries', () => {
  it('yields every file entry of a zip in directory order, without folders or macOS metadata', async () => {
    const path = await staged(
      'week.zip',
      zipArchive([
        { name: 'week/' },
        { name: 'week/b.json', content: '[2]' },
        { name: '__MACOSX/week/._b.json', content: 'resource fork' },
        { name: 'week/._b.json', content: 'resource fork' },
        { name: 'week/.DS_Store', content: 'finder' },
        { name: 'week/a.ndjson', content: '{"a":1}', method: 0 },
        { name: 'week/c.json', content: '', method: 0 },
        { name: 'week/d.json', content: '[4]', dataDescriptor: true },
      ]),
    );
    const { encoding, entries } = await openDecodedEntries(path);
    expect(encoding).toBe('zip');
    expect(entries.map((e) => e.name)).toEqual(['week/b.json', 'week/a.ndjson', 'week/c.json', 'week/d.json']);
    const contents: string[] = [];
    for (const entry of entries) contents.push(await text(entry.open()));
    expect(contents).toEqual(['[2]', '{"a":1}', '', '[4]']);
  });

  it('refuses an archive before reading it when a later entry uses another compression method', async () => {
    const path = await staged(
      'bz.zip',
      zipArchive([
        { name: 'a.json', content: '[1]' },
        { name: 'b.json', content: 'BZh9', method: 12 },
      ]),
    );
    await expect(openDecodedEntries(path)).rejects.toMatchObject({
      code: 'IMPORT_BAD_ARCHIVE',
      message: 'The zip archive cannot be read: entry b.json uses compression method 12; only stored and deflate are supported',
    });
  });

  it('checks every entry has its local header where the directory says', async () => {
    const archive = zipArchive([
      { name: 'a.json', content: '[1]' },
      { name: 'b.json', content: '[2]' },
    ]);
    archive.writeUInt32LE(0, archive.indexOf('PK\x03\x04', 4, 'latin1'));
    await expect(openDecodedEntries(await staged('bad-local.zip', archive))).rejects.toMatchObject({
      code: 'IMPORT_BAD_ARCHIVE',
      message: expect.stringMatching(/corrupt local header of entry b\.json/),
    });
  });

  it('a plain or gzip file is one unnamed document', async () => {
    const plain = await openDecodedEntries(await staged('a.json', '[1]'));
    expect([plain.encoding, plain.entries.length, plain.entries[0]?.name]).toEqual(['plain', 1, undefined]);
    const gz = await openDecodedEntries(await staged('a.json.gz', gzipSync('[1]')));
    expect(gz.encoding).toBe('gzip');
    expect(await text(gz.entries[0]!.open())).toBe('[1]');
  });
});
