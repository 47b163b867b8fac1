/** The plain-Node rules behind the desktop shell: window placement, app URLs, secrets, crash loops. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { FromHost, ToHost } from '../../core/api';
import type { DashboardSummary } from '../../core/api/dashboard';
import {
  DEFAULT_WINDOW_STATE,
  fitToDisplays,
  type HostChild,
  HostClient,
  isAppUrl,
  readWindowState,
  SecretVault,
  splitSecretPatch,
} from '../../core/desktop';
import { ManualClock } from '../../core/platform';
import { trayStatusLines } from '../../electron/tray';
import { removeDir, tempDir } from '../support/workstation';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
const dir = () => {
  const d = tempDir('marketdesk-rules-');
  dirs.push(d);
  return d;
};

describe('window placement', () => {
  const laptop = { x: 0, y: 0, width: 1440, height: 900 };
  const monitor = { x: 1440, y: 0, width: 2560, height: 1440 };

  it('reopens where it was on a display that is still there, and centres it when that display is gone', () => {
    const onMonitor = { x: 1600, y: 100, width: 1800, height: 1000, maximized: false };
    expect(fitToDisplays(onMonitor, [laptop, monitor])).toEqual(onMonitor);
    const unplugged = fitToDisplays(onMonitor, [laptop]);
    expect(unplugged.x).toBeUndefined();
    expect(unplugged.y).toBeUndefined();
    expect(unplugged).toMatchObject({ width: 1440, height: 900 });
  });

  it('a damaged state file opens the default window instead of failing', () => {
    const file = join(dir(), 'window-state.json');
    writeFileSync(file, '{"width": "huge"');
    expect(readWindowState(file)).toEqual(DEFAULT_WINDOW_STATE);
    writeFileSync(file, JSON.stringify({ width: -5, height: 10 }));
    expect(readWindowState(file)).toEqual(DEFAULT_WINDOW_STATE);
  });
});

describe('what counts as the app', () => {
  const index = pathToFileURL('/opt/Marketdesk/resources/app.asar/out/renderer/index.html').href;
  it('is a file in the renderer folder, never another file, a remote page or a traversal', () => {
    expect(isAppUrl(`${index}#/runs`, index)).toBe(true);
    expect(isAppUrl(index.replace('index.html', 'assets/x.js'), index)).toBe(true);
    expect(isAppUrl('file:///etc/passwd', index)).toBe(false);
    expect(isAppUrl(index.replace('index.html', '%2e%2e/%2e%2e/secret.html'), index)).toBe(false);
    expect(isAppUrl('https://evil.example/index.html', index)).toBe(false);
    expect(isAppUrl('not a url', index)).toBe(false);
    expect(isAppUrl('http://localhost:5173/#/runs', 'http://localhost:5173/')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
  });
});

describe('desktop secrets', () => {
  const sealing = {
    isEncryptionAvailable: () => true,
    encryptString: (s: string) => Buffer.from([...Buffer.from(s)].map((b) => b ^ 0x5a)),
    decryptString: (b: Buffer) => Buffer.from([...b].map((x) => x ^ 0x5a)).toString(),
  };

  it('are stored sealed, read back for the core, and removed when cleared', () => {
    const vault = new SecretVault(join(dir(), 'secrets.json'), sealing);
    vault.write({ WEBHOOK_SECRET: 'hunter2-long-secret', UW_API_TOKEN: 'uw-token' });
    expect(vault.read()).toEqual({ WEBHOOK_SECRET: 'hunter2-long-secret', UW_API_TOKEN: 'uw-token' });
    vault.write({ UW_API_TOKEN: '' });
    expect(vault.read()).toEqual({ WEBHOOK_SECRET: 'hunter2-long-secret' });
  });

  it('are refused, not written in plain text, when the OS has no keychain', () => {
    const file = join(dir(), 'secrets.json');
    const vault = new SecretVault(file, { ...sealing, isEncryptionAvailable: () => false });
    expect(() => vault.write({ WEBHOOK_SECRET: 'x' })).toThrow(/keychain is not available/);
    expect(vault.read()).toEqual({});
  });

  it('are split out of a settings change; the mask means "unchanged"', () => {
    expect(splitSecretPatch({ WEBHOOK_SECRET: 'new', UW_API_TOKEN: '********', CACHE_TTL_HOURS: 4 })).toEqual({
      secrets: { WEBHOOK_SECRET: 'new' },
      rest: { CACHE_TTL_HOURS: 4 },
    });
  });
});

describe('a core that keeps crashing', () => {
  it('is restarted a few times with notices, then left down with a clear message', async () => {
    const clock = new ManualClock();
    const children: { exit(code: number): void; sent: ToHost[] }[] = [];
    const host = new HostClient({
      clock,
      restarts: { max: 2, windowMs: 60_000, backoff: { baseMs: 100, maxMs: 100 } },
      spawn(): HostChild {
        let onMessage: (m: FromHost) => void = () => undefined;
        let onExit: (code: number | null) => void = () => undefined;
        const sent: ToHost[] = [];
        children.push({ exit: (code) => onExit(code), sent });
        queueMicrotask(() => onMessage({ kind: 'ready', dataDir: '/data', pid: children.length }));
        return {
          send: (m) => sent.push(m),
          onMessage: (h) => {
            onMessage = h;
          },
          onExit: (h) => {
            onExit = h;
          },
          kill: () => onExit(null),
        };
      },
    });
    const notices: { title: string }[] = [];
    host.subscribe((event, payload) => {
      if (event === 'system.notice') notices.push(payload as { title: string });
    });
    await host.start();

    for (let crash = 1; crash <= 2; crash++) {
      const pending = host.call('system.status', {});
      children.at(-1)!.exit(139);
      expect(await pending).toMatchObject({ ok: false, error: { code: 'host_exited' } });
      expect(host.state).toBe('restarting');
      await clock.advance(100);
      await new Promise((r) => setImmediate(r));
      expect(host.state).toBe('ready');
    }
    expect(children).toHaveLength(3);
    expect(notices.map((n) => n.title)).toEqual(['Marketdesk core restarted', 'Marketdesk core restarted']);

    children.at(-1)!.exit(139);
    expect(host.state).toBe('failed');
    expect(notices.at(-1)?.title).toBe('Marketdesk core keeps crashing');
    expect(await host.call('system.status', {})).toMatchObject({ ok: false, error: { code: 'host_unavailable' } });
    expect(children).toHaveLength(3);
  });
});

describe('tray status', () => {
  it('says when the gateway is connected but has lost its link to IBKR (1100)', () => {
    const ibkr = { available: true, status: 'connected', connected: true, host: '127.0.0.1', port: 4002, accounts: ['DU1'] };
    const summary = (lost: boolean) =>
      ({
        debugMode: false,
        ibkr: { ...ibkr, connectivityLost: lost, lastNotice: lost ? { code: 1100, message: 'lost', at: '' } : null },
        webhooks: { available: false },
        scheduler: { lastRun: null },
      }) as unknown as DashboardSummary;
    expect(trayStatusLines(summary(false))[0]).toBe('IBKR: connected (127.0.0.1:4002, DU1)');
    expect(trayStatusLines(summary(true))[0]).toBe('IBKR: gateway connected, but it lost its link to IBKR (1100)');
  });
});
