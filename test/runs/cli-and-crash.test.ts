import { spawn, spawnSync } from 'node:child_process';
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
    expect(show.stdout).toMatch(/info\s+extract\s+NVDA: \d+ bars/);
  });

  it('names a bad argument', () => {
    const dir = dataDir();
    const bad = marketdesk(['run', '--from', '2025-13-45'], dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--from "2025-13-45" is not a date');
    const badSearch = marketdesk(['runs', 'list', '--search', 'status = '], dir);
    expect(badSearch.status).toBe(1);
    expect(badSearch.stderr).toMatch(/expected a quoted value or a number/);
    const noId = marketdesk(['runs', 'show'], dir);
    expect(noId.status).toBe(2);
    expect(noId.stderr).toContain('runs show needs exactly one run id');
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

    const t = await openTestWorkstation({}, { dataDir: dir });
    try {
      const run = t.ws.runs.tracker.get(runId);
      expect(run.status).toBe('interrupted');
      expect(run.error).toMatch(/stopped while this run was in progress/);
      expect(run.endedAt).not.toBeNull();
      expect(run.tasks.find((x) => x.task === 'extract')?.status).toBe('interrupted');
      expect(t.logs.some((l) => l.msg.includes('marked interrupted') && (l.runIds as string[]).includes(runId))).toBe(true);
      // And a new run can start.
      expect(t.ws.runs.pipeline.current()).toBeNull();
    } finally {
      await t.ws.stop();
    }
  });
});
