#!/usr/bin/env node
// Entry of the `marketdesk` command: checks the Node version, then runs the TypeScript CLI through tsx.
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
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../core/cli/main.ts');
process.exit(await main(process.argv.slice(2)));
