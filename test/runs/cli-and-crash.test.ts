import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp';
import { openTestWorkstation } from '../support/workstation';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function dataDir(): string {
  const d = tempDir('marketdesk-runs-cli-');
  dirs.push(d);
  return d;
}

function marketdesk(args: string[], dir: string) {
  return spawnSync(process.execPath, ['bin/marketdesk.js', ...args], {
    env: { ...process.env, DATA_DIR: dir, CACHE_SYMBOLS: 'NVDA,TSLA', WEBHOOK_PORT: '0' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** `marketdesk <args>` started asynchronously (the test keeps running): its output so far and its exit code. */
function startMarketdesk(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['bin/marketdesk.js', ...args], {
    env: { ...process.env, WEBHOOK_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let all = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    all += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    all += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, stdout: () => stdout, output: () => all, exited };
}

describe('marketdesk run / runs', () => {
  it('runs the pipeline in demo mode with live task progress, then lists and shows the run', () => {
    const dir = dataDir();
    const res = marketdesk(['run', '--demo', '--symbols', 'NVDA,TSLA', '--from', '2025-06-02', '--to', '2025-07-01'], dir);
    expect(res.stderr).not.toMatch(/error/i);
    expect(res.status).toBe(0);
    const runId = /Run (\S+) started/.exec(res.stdout)?.[1] as string;
    expect(runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
    for (const task of ['preflight', 'extract', 'validate', 'transform', 'record']) {
      expect(res.stdout).toMatch(new RegExp(`▸ ${task}\\s+running`));
      expect(res.stdout).toMatch(new RegExp(`✓ ${task}\\s+succeeded`));
    }
    expect(res.stdout).toMatch(new RegExp(`Run ${runId} succeeded in`));
    expect(res.stdout).toMatch(/artifact transformed\.parquet/);

    const list = marketdesk(['runs', 'list', '--search', 'params.symbols = "TSLA" AND status = "succeeded"'], dir);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(runId);
    expect(list.stdout).toContain('NVDA,TSLA');

    const show = marketdesk(['runs', 'show', runId, '--logs'], dir);
    expect(show.status).toBe(0);
    expect(show.stdout).toMatch(/status\s+succeeded/);
    expect(show.stdout).toMatch(/transform\s+attempt 1\s+succeeded/);
    expect(show.stdout).toMatch(/rows\.NVDA\s+\d+/);
    expect(show.stdout).toMatch(/cache_hit_rate\s+\d+%/); // as in the UI, not a raw ratio
    expect(show.stdout).toMatch(/info\s+extract\s+NVDA: \d+ bars/);
    expect(show.stdout).toMatch(
      new RegExp(`validation_report\\.json\\s+\\d+ bytes\\s+\\S+/artifacts/${runId}/validation_report\\.json`),
    );
    expect(show.stdout).toMatch(/transformed\.parquet\s+\d+ bytes/);
  });

  it('runs live against a gateway it connects to at start (pre-flight waits for the connection under way)', async () => {
    const { IbGatewaySimulator } = await import('../../core/ibkr/simulator');
    const sim = new IbGatewaySimulator();
    const port = await sim.start();
    try {
      const dir = dataDir();
      // Async: the simulator answers from this process, which spawnSync would block.
      const run = startMarketdesk(['run', '--symbols', 'NVDA', '--from', '2025-06-02', '--to', '2025-07-01'], {
        DATA_DIR: dir,
        IB_PORT: String(port),
      });
      const code = await run.exited;
      expect(run.stdout()).toMatch(/✓ preflight\s+succeeded/);
      expect(run.stdout()).toMatch(/Run \S+ succeeded in/);
      expect(code).toBe(0);
    } finally {
      await sim.stop();
    }
  });

  it('names a bad argument', () => {
    const dir = dataDir();
    const bad = marketdesk(['run', '--from', '2025-13-45'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--from "2025-13-45" is not a date');
    const rolled = marketdesk(['run', '--from', '2025-02-30', '--to', '2025-03-10'], dir);
    expect(rolled.status).toBe(2);
    expect(rolled.stderr).toContain('--from "2025-02-30" is not a date');
    const backwards = marketdesk(['run', '--from', '2025-07-01', '--to', '2025-06-01'], dir);
    expect(backwards.status).toBe(2);
    expect(backwards.stderr).toContain('--from 2025-07-01 must be before --to 2025-06-01');
    const badSearch = marketdesk(['runs', 'list', '--search', 'status = '], dir);
    expect(badSearch.status).toBe(1);
    expect(badSearch.stderr).toMatch(/expected a quoted value or a number/);
    const noId = marketdesk(['runs', 'show'], dir);
    expect(noId.status).toBe(2);
    expect(noId.stderr).toContain('runs show needs exactly one run id');
  });
});

describe('marketdesk run / runs while the app holds the stores', () => {
  it('are carried out by the running app: progress, refusal of a second run, list and show; local again once it stops', async () => {
    const dir = dataDir();
    const app = startMarketdesk(['serve', '--demo', '--port', '0'], { DATA_DIR: dir, CACHE_SYMBOLS: 'NVDA,TSLA' });
    const { child: serve, exited } = app;
    const out = app.output;
    const instanceFile = join(dir, 'instance.json');
    let runId = '';
    try {
      const deadline = Date.now() + 30_000;
      while (!/#token=\S+/.test(out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const [, base, token] = /Open (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.exec(out()) ?? [];
      expect(base).toBeTruthy();
      expect(JSON.parse(readFileSync(instanceFile, 'utf8'))).toMatchObject({ url: base, token, mode: 'serve', pid: serve.pid });
      expect(statSync(instanceFile).mode & 0o777).toBe(0o600);
      const api = async (method: string, input: unknown) => {
        const res = await fetch(`${base}/api/call/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(input),
        });
        return (await res.json()) as { ok: boolean; result: Record<string, unknown> };
      };

      const res = marketdesk(['run', '--symbols', 'NVDA,TSLA', '--from', '2025-06-02', '--to', '2025-07-01'], dir);
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout).toMatch(/Marketdesk is running \(serve, pid \d+\): the run is carried out there/);
      runId = /Run (\S+) started/.exec(res.stdout)?.[1] as string;
      expect(runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}$/);
      for (const task of ['preflight', 'extract', 'validate', 'transform', 'record'])
        expect(res.stdout).toMatch(new RegExp(`✓ ${task}\\s+succeeded`));
      expect(res.stdout).toMatch(new RegExp(`Run ${runId} succeeded in`));
      expect(res.stdout).toMatch(/artifact transformed\.parquet/);
      const listed = (await api('runs.list', {})).result.runs as { id: string; status: string; trigger: string }[];
      expect(listed.find((r) => r.id === runId)).toMatchObject({ status: 'succeeded', trigger: 'manual' });

      // One run at a time holds across the two doors: the CLI is refused while the app's run is going.
      const long = await api('runs.trigger', {
        symbols: ['NVDA', 'TSLA', 'AAPL'],
        from: '2019-01-02',
        to: '2025-07-01',
        barSize: '1 hour',
      });
      expect(long.ok).toBe(true);
      const refused = marketdesk(['run', '--symbols', 'NVDA'], dir);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`Run ${long.result.runId} of daily-bars is still in progress`);
      await api('runs.cancel', { runId: long.result.runId });

      const list = marketdesk(['runs', 'list', '--search', 'status = "succeeded"'], dir);
      expect(list.status).toBe(0);
      expect(list.stdout).toContain(runId);
      const show = marketdesk(['runs', 'show', runId, '--logs'], dir);
      expect(show.status).toBe(0);
      expect(show.stdout).toMatch(/status\s+succeeded/);
      expect(show.stdout).toMatch(/info\s+extract\s+NVDA: \d+ bars/);
      // Commands that need the stores themselves say who holds them.
      const cache = marketdesk(['cache', 'list'], dir);
      expect(cache.status).toBe(3);
      expect(cache.stderr).toContain(
        `Marketdesk is running (serve, pid ${serve.pid}) on this data folder: use its UI at ${base}`,
      );
      const missing = marketdesk(['runs', 'show', 'no-such-run'], dir);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('No run with id no-such-run');
    } finally {
      serve.kill('SIGTERM');
      await exited;
    }
    expect(existsSync(instanceFile)).toBe(false);
    const local = marketdesk(['runs', 'list'], dir);
    expect(local.status).toBe(0);
    expect(local.stdout).not.toContain('Marketdesk is running');
    expect(local.stdout).toContain(runId);
  });
});

describe('marketdesk run handed to an app that dies', () => {
  it('says it lost the app and exits 1, instead of waiting forever', async () => {
    const dir = dataDir();
    const app = startMarketdesk(['serve', '--demo', '--port', '0'], { DATA_DIR: dir, CACHE_SYMBOLS: 'NVDA,TSLA' });
    let run: ReturnType<typeof startMarketdesk> | null = null;
    try {
      const deadline = Date.now() + 30_000;
      while (!/#token=\S+/.test(app.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      run = startMarketdesk(
        ['run', '--symbols', 'NVDA,TSLA,AAPL', '--from', '2019-01-02', '--to', '2025-07-01', '--bar-size', '1 hour'],
        { DATA_DIR: dir },
      );
      const started = run;
      while (!/▸ extract/.test(started.stdout()) && Date.now() < deadline + 30_000) await new Promise((r) => setTimeout(r, 50));
      expect(started.stdout()).toMatch(/the run is carried out there/);
      app.child.kill('SIGKILL');
      const code = await Promise.race([started.exited, new Promise((r) => setTimeout(() => r('still waiting'), 30_000))]);
      expect(code).toBe(1);
      expect(started.output()).toMatch(/Lost the connection to the app \(pid \d+\)/);
      expect(started.output()).toMatch(/marketdesk runs show \d{8}-\d{6}-[0-9a-f]{6}/);
    } finally {
      run?.child.kill('SIGKILL');
      app.child.kill('SIGKILL');
      await app.exited;
    }
  });
});

describe('marketdesk runs while a marketdesk run holds the stores', () => {
  it('lists the run in progress, and a second run is refused naming it', async () => {
    const dir = dataDir();
    const symbols = 'NVDA,TSLA,AAPL,MSFT,AMZN';
    const run = startMarketdesk(
      ['run', '--demo', '--symbols', symbols, '--from', '2020-01-02', '--to', '2025-01-01', '--bar-size', '1 hour'],
      { DATA_DIR: dir },
    );
    const { child, exited } = run;
    try {
      const deadline = Date.now() + 30_000;
      while (!/▸ extract/.test(run.stdout()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const runId = /Run (\S+) started/.exec(run.stdout())?.[1] as string;
      expect(runId).toBeTruthy();
      const list = marketdesk(['runs', 'list'], dir);
      expect(list.status).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`${runId}\\s+running`));
      const second = marketdesk(['run', '--symbols', 'NVDA'], dir);
      expect(second.status).toBe(1);
      expect(second.stdout).toMatch(/Another marketdesk command \(pid \d+\) holds the stores/);
      expect(second.stderr).toContain(`Run ${runId} of daily-bars is still in progress`);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
    expect(run.stdout()).toMatch(/cancelled/);
  });
});

describe('a crash in the middle of a run', () => {
  it('leaves the run marked interrupted at the next start, not "running"', async () => {
    const dir = dataDir();
    const symbols = 'NVDA,TSLA,AAPL,MSFT,AMZN,META,GOOG,AMD,INTC,ORCL';
    const child = spawn(
      process.execPath,
      ['bin/marketdesk.js', 'run', '--demo', '--symbols', symbols, '--from', '2023-01-03', '--to', '2025-01-01'],
      {
        env: { ...process.env, DATA_DIR: dir, WEBHOOK_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    const killed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`extract never started: ${stdout}`)), 45_000);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (/▸ extract/.test(stdout) && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
          clearTimeout(timer);
        }
      });
      child.on('exit', () => resolve());
    });
    await killed;
    expect(child.signalCode).toBe('SIGKILL');
    const runId = /Run (\S+) started/.exec(stdout)?.[1] as string;
    expect(runId).toBeTruthy();

    // The app comes back a while later: the run still ends when it died, not when this was noticed.
    await new Promise((r) => setTimeout(r, 2_500));
    const reopenedAt = Date.now();
    const t = await openTestWorkstation({}, { dataDir: dir });
    try {
      const run = t.ws.runs.tracker.get(runId);
      expect(run.status).toBe('interrupted');
      expect(run.error).toMatch(/stopped while this run was in progress \(last recorded activity /);
      expect(run.endedAt).not.toBeNull();
      expect(Date.parse(run.endedAt as string)).toBeLessThan(reopenedAt - 2_000);
      expect(run.tasks.find((x) => x.task === 'extract')?.status).toBe('interrupted');
      expect(t.logs.some((l) => l.msg.includes('marked interrupted') && (l.runIds as string[]).includes(runId))).toBe(true);
      // And a new run can start.
      expect(t.ws.runs.pipeline.current()).toBeNull();
    } finally {
      await t.ws.stop();
    }
  });
});
