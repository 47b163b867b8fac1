// electron-builder beforePack hook: the packaged app needs the DuckDB binding of the TARGET
// platform/arch. npm installs only the host's, so building e.g. mac arm64 on an x64 runner needs
// `npm install --no-save --force @duckdb/node-bindings-darwin-arm64@<same version>` first.
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const ARCH = { 0: 'ia32', 1: 'x64', 2: 'armv7l', 3: 'arm64', 4: 'universal' };

exports.default = async function beforePack(context) {
  const platform = context.electronPlatformName; // linux | darwin | win32 (mas → darwin)
  const arch = ARCH[context.arch] ?? String(context.arch);
  const root = context.packager.projectDir;
  const archs = arch === 'universal' ? ['x64', 'arm64'] : [arch];
  const version = JSON.parse(readFileSync(join(root, 'node_modules/@duckdb/node-bindings/package.json'), 'utf8')).version;
  const missing = archs
    .map((a) => `@duckdb/node-bindings-${platform === 'mas' ? 'darwin' : platform}-${a}`)
    .filter((pkg) => !existsSync(join(root, 'node_modules', pkg, 'duckdb.node')));
  if (missing.length > 0) {
    throw new Error(
      `The DuckDB binding for ${platform}-${arch} is not installed. Run:\n  npm install --no-save --force ${missing.map((m) => `${m}@${version}`).join(' ')}\nthen package again (or build on a ${platform}-${arch} runner).`,
    );
  }
};
