/**
 * Webhook ingest under load: 50 keep-alive connections POST JSON option trades to `/uw` for 10 s,
 * each 2xx sent only after the inbox commit (group commit, synchronous=FULL), against a bare
 * node:http server that reads the body and answers without storing — both in child processes,
 * driven by the same load generator in this process, alternating in 1 s slices.
 * Diagnostics: BENCH_WEBHOOKS_MS (duration), BENCH_VERBOSE=1 (the listener's inbox/loop/CPU stats),
 * BENCH_CHILD_ARGS="--cpu-prof --cpu-prof-dir=…" (profile the listener), CHILD_NO_PROCESSOR=1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure } from './figure';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../webhooks/fixtures/listener-child.ts', import.meta.url));
const SECRET = 'bench-secret-0123456789';
const CONNECTIONS = 50;
const DURATION_MS = Number(process.env.BENCH_WEBHOOKS_MS ?? 10_000);

const BARE = `
const http = require('http');
const s = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end('{"ok":true,"id":1,"duplicate":false}');
  });
});
s.keepAliveTimeout = 5000;
s.listen(0, '127.0.0.1', () => console.log('READY ' + s.address().port));
`;

interface Started {
  child: ChildProcess;
  port: number;
  /** Everything the child wrote to stderr (the listener prints its inbox stats there when stopped). */
  stderr: () => string;
}

function start(args: string[], env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start: ${out}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), stderr: () => err });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
      err += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface Sample {
  accepted: number;
  failed: number;
  seconds: number;
  latencies: number[];
}

interface LoadResult {
  accepted: number;
  failed: number;
  perSecond: number;
  p99Ms: number;
  p50Ms: number;
  p999Ms: number;
  maxMs: number;
}

function summarise(s: Sample): LoadResult {
  const lat = [...s.latencies].sort((a, b) => a - b);
  return {
    accepted: s.accepted,
    failed: s.failed,
    perSecond: s.accepted / s.seconds,
    p99Ms: lat[Math.floor(lat.length * 0.99)] ?? 0,
    p50Ms: lat[Math.floor(lat.length * 0.5)] ?? 0,
    p999Ms: lat[Math.floor(lat.length * 0.999)] ?? 0,
    maxMs: lat[lat.length - 1] ?? 0,
  };
}

const TRADE = {
  underlying_symbol: 'TSLA',
  option_symbol: 'TSLA251121C00460000',
  strike: '460',
  expiry: '2025-11-21',
  option_type: 'call',
  price: '6.85',
  size: 40,
  premium: '27400',
  nbbo_bid: '6.80',
  nbbo_ask: '6.90',
  executed_at: 1762267198123,
  tags: ['ask_side', 'bullish'],
};

let seq = 0;

/** One slice of load: CONNECTIONS loops, each sending its next request when the previous answered. */
async function load(agent: Agent, port: number, tag: string, ms: number, into: Sample): Promise<void> {
  const started = performance.now();
  const end = started + ms;
  const one = (body: string) =>
    new Promise<number>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/uw',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${SECRET}`,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });
  const conn = async () => {
    while (performance.now() < end) {
      const body = JSON.stringify(['option_trades', { ...TRADE, id: `${tag}-${seq++}` }]);
      const t0 = performance.now();
      const status = await one(body);
      into.latencies.push(performance.now() - t0);
      if (status >= 200 && status < 300) into.accepted++;
      else into.failed++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, conn));
  into.seconds += (performance.now() - started) / 1000;
}

/** Raw fdatasync latency of a 4 KiB append in `dir`: what the disk gives anyone right now. */
function diskSyncMs(dir: string, samples = 100): number {
  const file = join(dir, 'probe');
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      writeSync(fd, buf);
      const t0 = performance.now();
      fdatasyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export async function run(): Promise<Figure[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'marketdesk-bench-webhooks-'));
  const bareSample: Sample = { accepted: 0, failed: 0, seconds: 0, latencies: [] };
  const durableSample: Sample = { accepted: 0, failed: 0, seconds: 0, latencies: [] };
  const childArgs = process.env.BENCH_CHILD_ARGS?.split(' ').filter(Boolean) ?? [];
  const diskBefore = diskSyncMs(dataDir);
  let stats: { fsyncs: number; fsyncMs: number; appended: number } | null = null;
  const b = await start(['-e', BARE], process.env);
  try {
    const w = await start([...childArgs, '--import', 'tsx', CHILD], {
      ...process.env,
      DATA_DIR: dataDir,
      WEBHOOK_SECRET: SECRET,
    });
    try {
      // Both servers run side by side; the load alternates between them in 1 s slices so a busy
      // machine (shared CPU, other people's fsyncs) weighs on both figures alike.
      const bareAgent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
      const durableAgent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
      const slices = Math.max(1, Math.round(DURATION_MS / 1000));
      for (let i = 0; i < slices; i++) {
        await load(bareAgent, b.port, 'bare', DURATION_MS / slices, bareSample);
        await load(durableAgent, w.port, 'durable', DURATION_MS / slices, durableSample);
      }
      bareAgent.destroy();
      durableAgent.destroy();
    } finally {
      await stop(w.child);
      const m = /STATS (\{.*\})/.exec(w.stderr());
      stats = m ? JSON.parse(m[1]) : null;
      if (process.env.BENCH_VERBOSE && m) {
        process.stderr.write(`listener stats: ${m[1]}\n`);
        const s = JSON.parse(m[1]) as { appended: number; cpu: { user: number; system: number } };
        const perEvent = (s.cpu.user + s.cpu.system) / Math.max(1, s.appended);
        process.stderr.write(`listener CPU after start-up: ${perEvent.toFixed(1)} µs per accepted event (processing included)\n`);
      }
    }
  } finally {
    await stop(b.child);
  }
  // The same probe after the run: on a shared disk it moves a lot between runs (others' fsyncs).
  const diskAfter = diskSyncMs(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  const bare = summarise(bareSample);
  const durable = summarise(durableSample);
  if (process.env.BENCH_VERBOSE) {
    const line = (n: string, r: LoadResult) =>
      `${n}: ${r.perSecond.toFixed(0)}/s p50 ${r.p50Ms.toFixed(1)} p99 ${r.p99Ms.toFixed(1)} p99.9 ${r.p999Ms.toFixed(1)} max ${r.maxMs.toFixed(1)} ms`;
    process.stderr.write(
      `${line('bare', bare)}\n${line('durable', durable)}\nraw 4 KiB fdatasync median: before ${diskBefore.toFixed(3)} ms, after ${diskAfter.toFixed(3)} ms\n`,
    );
  }
  const diskMs = Math.max(diskBefore, 0.001);
  if (durable.failed > 0) throw new Error(`${durable.failed} requests to /uw were not acknowledged`);
  return [
    {
      name: 'webhooks /uw accepted events/s (50 conns, durable ack)',
      value: durable.perSecond,
      unit: 'events/s',
      baseline: { name: 'bare node:http, no storage', value: bare.perSecond, unit: 'req/s' },
      ratio: durable.perSecond / bare.perSecond,
      target: 'ratio ≥ 0.6',
    },
    {
      name: 'webhooks /uw p99 latency (durable ack)',
      value: durable.p99Ms,
      unit: 'ms',
      baseline: { name: 'bare node:http p99', value: bare.p99Ms, unit: 'ms' },
      ratio: durable.p99Ms / bare.p99Ms,
      target: 'ratio ≤ 1.5',
    },
    ...(stats && stats.fsyncs > 0
      ? [
          {
            name: `webhooks inbox WAL sync, mean (${(stats.appended / stats.fsyncs).toFixed(1)} events per sync)`,
            value: stats.fsyncMs / stats.fsyncs,
            unit: 'ms',
            baseline: { name: 'raw 4 KiB fdatasync on the same disk, median, before the run', value: diskMs, unit: 'ms' },
            ratio: stats.fsyncMs / stats.fsyncs / diskMs,
            target: 'context: the durable figures are bounded by this disk latency',
          } satisfies Figure,
        ]
      : []),
  ];
}
