import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HostFatalError } from '../../core/desktop';
import { connectToRunningApp, INSTANCE_FILE, readInstance } from '../../core/server';
import { openTestWorkstation, removeDir, tempDir } from '../support/workstation';
import { type ForkedHost, forkHost } from './fork-host';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function start(env: Record<string, string> = {}, options = {}): { dataDir: string } & ForkedHost {
  const dataDir = tempDir('marketdesk-host-');
  const forked = forkHost(dataDir, env, options);
  cleanups.push(() => removeDir(dataDir));
  cleanups.push(async () => {
    await forked.host.stop();
  });
  return { dataDir, ...forked };
}

function nextEvent(host: ForkedHost['host'], name: string): Promise<unknown> {
  return new Promise((resolve) => {
    const off = host.subscribe((event, payload) => {
      if (event === name) {
        off();
        resolve(payload);
      }
    });
  });
}

describe('the core host, forked under Node and spoken to over its port', () => {
  it('answers system.status and settings.update, and forwards the workstation events', async () => {
    const { host, dataDir } = start();
    const ready = await host.start();
    expect(ready.dataDir).toBe(dataDir);
    expect(host.state).toBe('ready');

    const status = await host.call('system.status', {});
    expect(status.ok).toBe(true);
    if (!status.ok) return;
    const result = status.result as {
      dataDir: string;
      mode: string;
      stores: { journal: { ok: boolean }; warehouse: { ok: boolean } };
    };
    expect(result.dataDir).toBe(dataDir);
    expect(result.mode).toBe('test');
    expect(result.stores.journal.ok && result.stores.warehouse.ok).toBe(true);

    const changedEvent = nextEvent(host, 'settings.changed');
    const update = await host.call('settings.update', { values: { CACHE_TTL_HOURS: 6 } });
    expect(update).toMatchObject({ ok: true, result: { changed: ['CACHE_TTL_HOURS'] } });
    expect(await changedEvent).toEqual({ changed: ['CACHE_TTL_HOURS'] });
    expect(JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')).CACHE_TTL_HOURS).toBe(6);
  });

  it('refuses bad input with the zod issues, and an unknown method by name, and stays healthy', async () => {
    const { host } = start();
    await host.start();

    const extra = await host.call('settings.update', { values: {}, sneaky: true });
    expect(extra.ok).toBe(false);
    if (extra.ok) return;
    expect(extra.error.code).toBe('invalid_input');
    expect(extra.error.issues?.[0]?.message).toMatch(/sneaky|unrecognized/i);

    const wrongType = await host.call('settings.update', { values: 'CACHE_TTL_HOURS=1' });
    expect(wrongType).toMatchObject({ ok: false, error: { code: 'invalid_input', issues: [{ path: ['values'] }] } });

    const badValue = await host.call('settings.update', { values: { CACHE_TTL_HOURS: -3 } });
    expect(badValue).toMatchObject({ ok: false, error: { code: 'SETTING_INVALID' } });

    const unknown = await host.call('nope.nothing', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'unknown_method' } });

    expect(await host.call('system.status', {})).toMatchObject({ ok: true });
  });

  it('reports a bad configuration as fatal, with the message naming the key, and exits non-zero', async () => {
    const { host, children } = start({ CACHE_TTL_HOURS: '-1' });
    const failure = await host.start().then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(HostFatalError);
    const fatal = failure as HostFatalError;
    expect(fatal.code).toBe('CONFIG_INVALID');
    expect(fatal.message).toContain('CACHE_TTL_HOURS="-1"');
    expect(fatal.exitCode).toBe(3);
    expect(await children[0].exit).toBe(3);
    expect(host.state).toBe('failed');
    expect(await host.call('system.status', {})).toMatchObject({ ok: false, error: { code: 'host_unavailable' } });
  });

  it('stops on request: the stores are checkpointed and closed, so they reopen at once', async () => {
    const { host, dataDir, children } = start();
    await host.start();
    await host.call('settings.update', { values: { CACHE_SYMBOLS: 'AAPL,MSFT' } });
    await host.stop();
    expect(host.state).toBe('stopped');
    expect(await children[0].exit).toBe(0);
    expect(existsSync(join(dataDir, 'journal.sqlite-wal')) ? readFileSync(join(dataDir, 'journal.sqlite-wal')).length : 0).toBe(
      0,
    );

    const reopened = await openTestWorkstation({}, { dataDir });
    try {
      expect(reopened.ws.settings.get().CACHE_SYMBOLS).toEqual(['AAPL', 'MSFT']);
      expect((await reopened.ws.status()).stores.warehouse.ok).toBe(true);
    } finally {
      await reopened.dispose();
    }
  });

  it('publishes a control API for CLI commands while it runs, and withdraws it when it stops', async () => {
    const { host, dataDir, children } = start();
    await host.start();
    const info = readInstance(dataDir);
    expect(info).toMatchObject({ mode: 'test', pid: children[0].proc.pid });
    const app = await connectToRunningApp(dataDir);
    expect(app).not.toBeNull();
    const status = await app?.client.call('system.status', {});
    expect(status?.dataDir).toBe(dataDir);
    // The token is required, as in serve mode.
    const anonymous = await fetch(`${info?.url}/api/call/system.status`, { method: 'POST', body: '{}' });
    expect(anonymous.status).toBe(401);

    await host.stop();
    expect(existsSync(join(dataDir, INSTANCE_FILE))).toBe(false);
    expect(await connectToRunningApp(dataDir)).toBeNull();
  });

  it('is restarted with a notice when it dies unexpectedly, and answers again', async () => {
    const { host, children } = start({}, { restarts: { max: 3, windowMs: 60_000, backoff: { baseMs: 10, maxMs: 10 } } });
    const first = await host.start();
    const notice = nextEvent(host, 'system.notice');
    const readyAgain = new Promise<void>((resolve) => {
      const off = host.onState((s) => {
        if (s === 'ready') {
          off();
          resolve();
        }
      });
    });
    process.kill(first.pid, 'SIGKILL');
    expect(await notice).toMatchObject({ level: 'warn', title: 'Marketdesk core restarted' });
    await readyAgain;
    expect(children).toHaveLength(2);
    expect(host.info?.pid).not.toBe(first.pid);
    expect(await host.call('system.status', {})).toMatchObject({ ok: true });
  });
});
