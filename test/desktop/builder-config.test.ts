/**
 * electron-builder.yml, checked here because packaging itself needs a desktop with internet:
 * every native module of the production dependencies is unpacked from asar, every file the config
 * (and the main process) refers to exists, and the targets are the ones we ship.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, matchesGlob, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const config = parse(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

/** Package folders electron-builder ships: the production dependency tree. */
function productionPackages(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(`${sep}node_modules${sep}`))
    .map((l) => relative(ROOT, l).split(sep).join('/'));
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...filesUnder(rel));
    } else out.push(rel);
  }
  return out;
}

const unpacked = (file: string) => (config.asarUnpack as string[]).some((glob) => matchesGlob(file, glob));
const pngSize = (file: string) => {
  const b = readFileSync(join(ROOT, file));
  expect(b.subarray(1, 4).toString()).toBe('PNG');
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
};

describe('the electron-builder config', () => {
  it('names the app and ships Linux AppImage+deb, macOS dmg for arm64 and x64, Windows nsis', () => {
    expect(config.appId).toBe('com.marketdesk.app');
    expect(config.productName).toBe('Marketdesk');
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual([{ target: 'dmg', arch: ['arm64', 'x64'] }]);
    expect(config.win.target.map((t: { target: string }) => t.target)).toEqual(['nsis']);
    expect(pkg.scripts.dist).toMatch(/electron-vite build && electron-builder --config electron-builder.yml/);
  });

  it('packs only the build output, and that output holds main, the core host, the preload and the renderer', () => {
    expect(config.files).toEqual(expect.arrayContaining(['out/**/*', 'package.json']));
    expect(config.files.filter((f: string) => !f.startsWith('!') && !f.startsWith('out/') && f !== 'package.json')).toEqual([]);
    for (const file of [pkg.main, 'out/main/host.js', 'out/preload/preload.cjs', 'out/renderer/index.html']) {
      expect(existsSync(join(ROOT, file)), `${file} (run npm run build)`).toBe(true);
      expect(matchesGlob(file, 'out/**/*'), file).toBe(true);
    }
    expect(pkg.main).toBe('out/main/main.js');
  });

  it('unpacks every native module of the production dependencies from asar, and the whole DuckDB binding folder', () => {
    const natives = productionPackages().flatMap((dir) => filesUnder(dir).filter((f) => f.endsWith('.node')));
    expect(natives.some((f) => f.includes('better-sqlite3'))).toBe(true);
    expect(natives.some((f) => f.includes('@duckdb/node-bindings-'))).toBe(true);
    for (const file of natives) expect(unpacked(file), `${file} is not unpacked`).toBe(true);

    const bindings = readdirSync(join(ROOT, 'node_modules/@duckdb')).filter((d) => d.startsWith('node-bindings-'));
    expect(bindings.length).toBeGreaterThan(0);
    for (const dir of bindings) {
      // duckdb.node loads libduckdb.(so|dylib|dll) from its own folder: all of it must be outside the archive.
      for (const file of filesUnder(`node_modules/@duckdb/${dir}`)) expect(unpacked(file), file).toBe(true);
    }
  });

  it('ships every package the built main process and core host import (externals load from node_modules)', () => {
    const shipped = new Set(productionPackages().map((dir) => dir.replace(/^.*node_modules\//, '')));
    const bundle = ['out/main', 'out/main/chunks'].flatMap((dir) =>
      readdirSync(join(ROOT, dir))
        .filter((f) => f.endsWith('.js'))
        .map((f) => readFileSync(join(ROOT, dir, f), 'utf8')),
    );
    const specifiers = new Set(
      bundle.flatMap((code) => [...code.matchAll(/(?:from |import\(|require\()"([^".][^"]*)"/g)].map((m) => m[1])),
    );
    const packages = [...specifiers]
      .filter((s) => !s.startsWith('node:') && s !== 'electron')
      .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
    expect(packages).toEqual(expect.arrayContaining(['better-sqlite3', '@duckdb/node-api']));
    for (const name of packages) expect(shipped.has(name), `${name} is imported by out/main but not shipped`).toBe(true);
  });

  it('refers only to files that exist: real PNG icons of the right sizes, extra resources, the beforePack hook', () => {
    for (const icon of [config.linux.icon, config.mac.icon, config.win.icon]) {
      expect(existsSync(join(ROOT, icon)), icon).toBe(true);
      expect(pngSize(icon)).toEqual([512, 512]);
    }
    expect(pngSize('resources/tray.png')).toEqual([16, 16]);
    expect(pngSize('resources/tray@2x.png')).toEqual([32, 32]);
    for (const extra of config.extraResources as { from: string; filter?: string[] }[]) {
      expect(existsSync(join(ROOT, extra.from)), extra.from).toBe(true);
      if (statSync(join(ROOT, extra.from)).isDirectory()) {
        const shipped = readdirSync(join(ROOT, extra.from)).filter((f) => (extra.filter ?? ['*']).some((g) => matchesGlob(f, g)));
        expect(shipped).toEqual(expect.arrayContaining(['icon.png', 'tray.png', 'tray@2x.png']));
      }
    }
    expect(existsSync(join(ROOT, config.beforePack))).toBe(true);
    expect(existsSync(join(ROOT, config.directories.buildResources))).toBe(true);
  });

  it('refuses to package for a platform whose DuckDB binding is not installed, saying what to install', async () => {
    const hook = createRequire(import.meta.url)(join(ROOT, config.beforePack)).default as (ctx: unknown) => Promise<void>;
    const arch = { x64: 1, arm64: 3 }[process.arch as 'x64' | 'arm64'];
    const context = (platform: string, a: number) => ({
      electronPlatformName: platform,
      arch: a,
      packager: { projectDir: ROOT },
    });
    await expect(hook(context(process.platform, arch))).resolves.toBeUndefined();
    const other = process.platform === 'darwin' ? 'win32' : 'darwin';
    await expect(hook(context(other, 3))).rejects.toThrow(`npm install --no-save --force @duckdb/node-bindings-${other}-arm64@`);
  });
});
