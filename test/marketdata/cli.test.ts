/** `marketdesk cache …` as a trader types it, against the built-in simulated gateway (--demo). */
import { spawn, spawnSync } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function newDataDir(): string {
  const dir = tempDir('marketdesk-cache-cli-');
  dirs.push(dir);
  return dir;
}

function marketdesk(dataDir: string, args: string[]) {
  return spawnSync(process.execPath, ['bin/marketdesk.js', ...args], {
    env: { ...process.env, DATA_DIR: dataDir, WEBHOOK_PORT: '0', LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The same, without blocking: usage errors are checked in parallel. */
function marketdeskAsync(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/marketdesk.js', ...args], {
      env: { ...process.env, DATA_DIR: dataDir, WEBHOOK_PORT: '0', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe('marketdesk cache', () => {
  it('populates with progress and a summary, lists what it cached, refetches nothing the second time, and clears', () => {
    const dataDir = newDataDir();
    const first = marketdesk(dataDir, [
      'cache',
      'populate',
      '--demo',
      '--symbols',
      'NVDA,TSLA,NOSUCH',
      '--exchange',
      'NASDAQ',
      '--days-back',
      '90',
      '--bar-size',
      '1 day',
    ]);
    expect(first.status).toBe(1); // one symbol failed
    expect(first.stderr).toMatch(/NVDA\s+done/);
    expect(first.stderr).toMatch(/overall \[#+\] 3\/3 symbols, 1 failed/);
    expect(first.stdout).toMatch(/Fetched: NVDA, TSLA \(\d+ bars from IBKR\)/);
    expect(first.stdout).toMatch(/NOSUCH: Unknown symbol NOSUCH.*IBKR 200/);

    const second = marketdesk(dataDir, ['cache', 'populate', '--demo', '--symbols', 'NVDA,TSLA', '--days-back', '90', '--json']);
    expect(second.status).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary).toMatchObject({ fetched: [], cached: ['NVDA', 'TSLA'], failed: [], rowsFetched: 0 });
    expect(summary.rowsCached).toBeGreaterThan(100);

    const list = marketdesk(dataDir, ['cache', 'list']);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^SYMBOL\s+EXCHANGE\s+TYPE\s+BAR\s+ROWS/);
    expect(list.stdout).toMatch(/NVDA\s+NASDAQ\s+TRADES\s+1 day\s+\d{2}/);
    expect(list.stdout).toMatch(/50% \(1\/2\)/);

    const refused = marketdesk(dataDir, ['cache', 'clear']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('without --yes');
    const cleared = marketdesk(dataDir, ['cache', 'clear', '--symbol', 'NVDA', '--yes']);
    expect(cleared.status).toBe(0);
    expect(cleared.stdout).toMatch(/Deleted \d+ bars/);
    const after = marketdesk(dataDir, ['cache', 'list', '--json']);
    expect(JSON.parse(after.stdout).map((e: { symbol: string }) => e.symbol)).toEqual(['TSLA']);
  });

  it('names the bad argument and exits 2', async () => {
    const dataDir = newDataDir();
    const cases: [string[], RegExp][] = [
      [['cache', 'populate', '--days-back', 'abc'], /--days-back: expected a whole number/],
      [['cache', 'populate', '--bar-size', '7 days'], /--bar-size: "7 days" is not an IBKR bar size/],
      [['cache', 'populate', '--symbols', 'NVDA,BRK B'], /--symbols: "BRK B" is not a ticker symbol/],
      [['cache', 'populate', '--exchange', 'N'], /--exchange: "N" is not an exchange code/],
      [['cache', 'populate', '--retries', '-1'], /--retries/],
      [['cache', 'populate', '--frobnicate'], /'--frobnicate'/],
      [['cache', 'purge'], /unknown cache subcommand "purge"/],
    ];
    const results = await Promise.all(cases.map(([args]) => marketdeskAsync(dataDir, args)));
    cases.forEach(([args, message], i) => {
      expect(results[i].status, args.join(' ')).toBe(2);
      expect(results[i].stderr).toMatch(message);
    });
  });

  it('says it is connecting, and stops at once naming the gateway when it cannot be reached', async () => {
    const closed = await freePort();
    // A gateway that accepts the connection but never answers the API handshake.
    const silent = createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    try {
      const [refused, mute] = await Promise.all([
        marketdeskAsync(newDataDir(), ['cache', 'populate', '--symbols', 'NVDA'], { IB_PORT: String(closed) }),
        marketdeskAsync(newDataDir(), ['cache', 'populate', '--symbols', 'NVDA'], { IB_PORT: String(silentPort) }),
      ]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`Connecting to IB Gateway at 127.0.0.1:${closed}`);
      expect(refused.stderr).toContain(`Not connected to IB Gateway at 127.0.0.1:${closed}`);
      expect(refused.stderr).toContain('Nothing was fetched');
      expect(mute.status).toBe(1);
      expect(mute.stderr).toMatch(/accepted the connection but did not finish the API handshake/);
    } finally {
      silent.close();
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
