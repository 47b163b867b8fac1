import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function marketdesk(args: string[], env: Record<string, string> = {}) {
  const dataDir = tempDir('marketdesk-cli-');
  dirs.push(dataDir);
  return spawnSync(process.execPath, ['bin/marketdesk.js', ...args], {
    env: { ...process.env, DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('the marketdesk command', () => {
  it('lists its subcommands with --help', () => {
    const res = marketdesk(['--help']);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/Usage: marketdesk <command>/);
    expect(res.stdout).toMatch(/serve\s+Run headless/);
  });

  it('names an unknown command and an unknown flag', () => {
    const unknown = marketdesk(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "frobnicate"');
    const flag = marketdesk(['serve', '--prot', '80']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain("'--prot'");
  });

  it('stops at start-up with the bad setting named and a non-zero exit', () => {
    const res = marketdesk(['serve', '--port', '0'], { WORKFLOW_SCHEDULE: '99 * * * *', CACHE_SYMBOLS: 'BRK B' });
    expect(res.status).toBe(3);
    expect(res.stderr).toMatch(/WORKFLOW_SCHEDULE="99 \* \* \* \*"/);
    expect(res.stderr).toMatch(/CACHE_SYMBOLS="BRK B"/);
  });

  it('refuses a guessable --token, a taken port and a data folder that cannot be made, each in one clear line', async () => {
    const short = marketdesk(['serve', '--port', '0', '--token', 'abc']);
    expect(short.status).toBe(2);
    expect(short.stderr).toContain('--token must be at least 16 characters');

    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    try {
      const taken = marketdesk(['serve', '--port', String(port)], { WEBHOOK_PORT: '0' });
      expect(taken.status).toBe(3);
      expect(taken.stderr.trim()).toBe(
        `marketdesk serve: Port ${port} on 127.0.0.1 is already in use (SERVE_PORT / --port): stop what holds it, or choose another port`,
      );
    } finally {
      holder.close();
    }

    const folder = marketdesk(['serve', '--port', '0', '--data-dir', '/proc/marketdesk-nope']);
    expect(folder.status).toBe(3);
    expect(folder.stderr.trim()).toBe(
      'marketdesk serve: Cannot create the folder /proc/marketdesk-nope: this filesystem does not allow creating it (DATA_DIR / --data-dir)',
    );
  });

  it('serves, prints the URL with a token, and stops cleanly on SIGTERM', async () => {
    const dataDir = tempDir('marketdesk-cli-');
    dirs.push(dataDir);
    const child = spawn(process.execPath, ['bin/marketdesk.js', 'serve', '--port', '0'], {
      env: { ...process.env, DATA_DIR: dataDir, WEBHOOK_PORT: '0' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const deadline = Date.now() + 20_000;
    while (!/#token=\S+/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const url = /Open (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.exec(out);
    expect(url).not.toBeNull();
    const [, base, token] = url as RegExpExecArray;
    const res = await fetch(`${base}/api/call/system.status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{}',
    });
    expect((await res.json()).result.dataDir).toBe(dataDir);
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toContain('Stopped cleanly');
  });
});

describe('a workstation opened for a CLI command', () => {
  it('does its job without opening the webhook port or the stream', async () => {
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const { openTestWorkstation } = await import('../support/workstation');
    const cli = await openTestWorkstation({ WEBHOOK_PORT: String(port) }, { mode: 'cli' });
    try {
      const refused = await fetch(`http://127.0.0.1:${port}/uw`, { method: 'POST' }).then(
        () => false,
        () => true,
      );
      expect(refused).toBe(true);
      const status = await cli.ws.dispatcher.call('system.status', {});
      expect(status.ok).toBe(true);
    } finally {
      await cli.dispose();
    }
    const served = await openTestWorkstation({ WEBHOOK_PORT: String(port) }, { mode: 'serve' });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/uw`, { method: 'POST' });
      expect(res.status).toBeGreaterThanOrEqual(400);
    } finally {
      await served.dispose();
    }
  });
});
