/**
 * Creating a folder and its parents, for paths a user gives (DATA_DIR, "save a copy to…").
 * Node's `mkdir(…, { recursive: true })` spins forever, at full CPU, on a path under a
 * filesystem that answers ENOENT for a directory it will never create (`/proc/nope`): one
 * component at a time, each failure is an error that names the path and why.
 */
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { parse, resolve, sep } from 'node:path';

export class FolderError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Cannot create the folder ${path}: ${reason}`);
    this.name = 'FolderError';
  }
}

/** Every folder from the root down to `path`, shortest first. */
function prefixes(path: string): string[] {
  const full = resolve(path);
  const { root } = parse(full);
  const parts = full.slice(root.length).split(sep).filter(Boolean);
  return parts.map((_, i) => root + parts.slice(0, i + 1).join(sep));
}

function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a folder';
  if (code === 'EROFS') return 'the filesystem is read-only';
  if (code === 'ENOSPC') return 'the disk is full';
  if (code === 'ENOENT') return 'this filesystem does not allow creating it';
  return (err as Error).message;
}

export function makeFolderSync(path: string): void {
  for (const dir of prefixes(path)) {
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new FolderError(dir, reasonOf(err));
      if (!statSync(dir).isDirectory()) throw new FolderError(dir, 'a file of that name exists');
    }
  }
}

export async function makeFolder(path: string): Promise<void> {
  for (const dir of prefixes(path)) {
    try {
      await mkdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new FolderError(dir, reasonOf(err));
      if (!(await stat(dir)).isDirectory()) throw new FolderError(dir, 'a file of that name exists');
    }
  }
}
