/**
 * bin/marketdesk.js chooses between the CLI bundle (out/cli/main.js) and the TypeScript sources: the bundle only while
 * it is newer than every file under core/, so an edit is never answered by old code. Checked in a copy of the layout
 * whose bundle and sources each say which one ran.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp';

const ROOT = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

/** A project folder with the real entry, a bundle and sources that print their name. */
function layout(): { dir: string; bundle: string; source: string; run: () => string } {
  const dir = tempDir('marketdesk-entry-');
  dirs.push(dir);
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'out/cli'), { recursive: true });
  mkdirSync(join(dir, 'core/cli'), { recursive: true });
  copyFileSync(join(ROOT, 'bin/marketdesk.js'), join(dir, 'bin/marketdesk.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const main = (who: string) => `export async function main(args${who === 'sources' ? ': string[]' : ''}) {
  process.stdout.write('${who} ' + args.join(' '));
  return 0;
}\n`;
  const bundle = join(dir, 'out/cli/main.js');
  const source = join(dir, 'core/cli/main.ts');
  writeFileSync(source, main('sources'));
  writeFileSync(bundle, main('bundle'));
  const run = () => {
    const res = spawnSync(process.execPath, [join(dir, 'bin/marketdesk.js'), 'runs', 'list'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    return res.stdout;
  };
  return { dir, bundle, source, run };
}

/** Sets a file's times `seconds` from now (the folders under core/ are as new as the test made them). */
const at = (path: string, seconds: number) => {
  const t = Date.now() / 1000 + seconds;
  utimesSync(path, t, t);
};

describe('the marketdesk entry', () => {
  it('runs the bundle while it is newer than every source file', () => {
    const { bundle, source, run } = layout();
    at(source, -100);
    at(bundle, 100);
    expect(run()).toBe('bundle runs list');
  });

  it('runs the sources through tsx when any of them is newer than the bundle, or there is no bundle', () => {
    const { dir, bundle, source, run } = layout();
    at(bundle, 100);
    at(source, 200);
    expect(run()).toBe('sources runs list');
    // A new file deep under core/ counts too.
    at(source, -100);
    mkdirSync(join(dir, 'core/pipeline'));
    const added = join(dir, 'core/pipeline/new.ts');
    writeFileSync(added, 'export {};\n');
    at(added, 200);
    expect(run()).toBe('sources runs list');
    rmSync(added);
    expect(run()).toBe('bundle runs list');
    rmSync(bundle);
    expect(run()).toBe('sources runs list');
  });
});
