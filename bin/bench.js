#!/usr/bin/env node
// `npm run bench [-- name…]`: runs the benchmarks under test/bench/ (through tsx) and prints one line per figure.
const { register } = await import('tsx/esm/api');
register();
const { runBenches } = await import('../test/bench/run.ts');
process.exit(await runBenches(process.argv.slice(2)));
