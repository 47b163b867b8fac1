#!/usr/bin/env node
// Entry of the `marketdesk` command: checks the Node version, then runs the CLI — the bundle `npm run build:cli` makes
// (out/cli/main.js) when it is newer than every source file under core/, else the TypeScript sources through tsx.
import { readdirSync, statSync } from 'node:fs';

const [major] = process.versions.node.split('.').map(Number);
if (major < 22) {
  process.stderr.write(
    `Marketdesk needs Node 22 or newer (this is ${process.version}).\n` +
      'Install it from npm in seconds:  npm install --prefix ~/.node22 node@22 && export PATH=~/.node22/node_modules/node/bin:$PATH\n',
  );
  process.exit(1);
}
// `marketdesk runs list | head`: the reader went away; stop quietly instead of dying on EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
const { main } = bundleIsFresh() ? await import('../out/cli/main.js') : await fromSources();
process.exit(await main(process.argv.slice(2)));

// Loading ~300 modules through tsx's hooks is most of a start-up; a stale bundle would run old code, so any newer source wins.
function bundleIsFresh() {
  const bundle = new URL('../out/cli/main.js', import.meta.url);
  const core = new URL('../core/', import.meta.url);
  try {
    const built = statSync(bundle).mtimeMs;
    return readdirSync(core, { recursive: true }).every((f) => statSync(new URL(f, core)).mtimeMs <= built);
  } catch {
    return false;
  }
}

async function fromSources() {
  const { register } = await import('tsx/esm/api');
  register();
  return import('../core/cli/main.ts');
}
