/** Start-up of `marketdesk serve` to a listening, migrated workstation, against a bare Node HTTP server. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure } from './figure';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function timeUntilListening(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not listening after 20 s: ${out}`));
    }, 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('is listening on')) {
        const elapsed = performance.now() - started;
        clearTimeout(timer);
        child.once('exit', () => resolve(elapsed));
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<Figure[]> {
  const serveTimes: number[] = [];
  const bareTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'marketdesk-bench-serve-'));
    try {
      serveTimes.push(
        await timeUntilListening(['bin/marketdesk.js', 'serve', '--port', '0'], {
          ...process.env,
          DATA_DIR: dataDir,
          WEBHOOK_PORT: '0',
        }),
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    bareTimes.push(
      await timeUntilListening(
        ['-e', "require('http').createServer().listen(0,'127.0.0.1',()=>console.log('is listening on'))"],
        process.env,
      ),
    );
  }
  const serveMs = median(serveTimes);
  const bareMs = median(bareTimes);
  return [
    {
      name: 'serve start-up (fresh data dir, migrated, listening)',
      value: serveMs,
      unit: 'ms',
      baseline: { name: 'bare node:http listen', value: bareMs, unit: 'ms' },
      ratio: serveMs / bareMs,
      target: '≤ 1500 ms',
    },
  ];
}
