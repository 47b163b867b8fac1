/**
 * The BUILT main bundle (out/main/main.js, from `npm run build`) with the `electron` module replaced:
 * the window's security settings, the IPC bridge for every contract method, menu and tray actions,
 * window state, single-instance focusing, secrets, tray mode, core restart and graceful quit —
 * against the real built core host (out/main/host.js) on temp-dir stores.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { METHOD_NAMES } from '../../core/api';
import type { CallResult } from '../../core/api/define';
import { CONTENT_SECURITY_POLICY, callChannel, EVENT_CHANNEL } from '../../core/desktop';
import { openTestWorkstation, removeDir, tempDir } from '../support/workstation';
import { app, FakeEvent, fake, menuItem, type TemplateItem, until } from './fake-electron';

vi.mock('electron', async () => (await import('./fake-electron')).electronModule);

const OUT = fileURLToPath(new URL('../../out', import.meta.url));
const MAIN_BUNDLE = join(OUT, 'main', 'main.js');
const dataDir = tempDir('marketdesk-desktop-');
const userData = tempDir('marketdesk-userdata-');

type Desktop = { host: { state: string; info: { dataDir: string; pid: number } | null }; keepInTray: boolean };
let desktop: Desktop;

const window = () => fake.windows.filter((w) => !w.destroyed).at(-1)!;
const trusted = { senderFrame: { url: pathToFileURL(join(OUT, 'renderer', 'index.html')).href } };

async function invoke(method: string, input: unknown, sender: unknown = trusted): Promise<CallResult> {
  const handler = fake.handlers.get(callChannel(method));
  if (!handler) throw new Error(`no handler for ${method}`);
  return (await handler(sender, input)) as CallResult;
}

function logTail(lines: number): string {
  const file = join(dataDir, 'logs', 'marketdesk.log');
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log file)';
}

function postedCalls(): string[] {
  return fake.children
    .flatMap((c) => c.posted as { kind: string; method?: string }[])
    .flatMap((m) => (m.kind === 'call' ? [m.method!] : []));
}

function toldInWindow(): string[] {
  return window()
    .webContents.sent.filter((s) => s.channel === EVENT_CHANNEL && s.args[0] === 'system.notice')
    .map((s) => (s.args[1] as { title: string }).title);
}

async function click(item: TemplateItem) {
  await item.click?.({}, undefined, {});
}

beforeAll(async () => {
  if (!existsSync(MAIN_BUNDLE)) throw new Error('out/main/main.js is missing: run `npm run build` first');
  fake.userData = userData;
  fake.forkCwd = dataDir;
  process.env.DATA_DIR = dataDir;
  process.env.WEBHOOK_PORT = '0';
  const mod = (await import(MAIN_BUNDLE)) as { desktop: Desktop };
  desktop = mod.desktop;
  fake.ready();
  await until(() => desktop.host.state === 'ready', 'the core host to be ready');
});

afterAll(async () => {
  for (const c of fake.children) if (c.exitCode === undefined) c.kill();
  removeDir(dataDir);
  removeDir(userData);
});

describe('the desktop main process (built bundle, electron replaced)', () => {
  it('opens one secure window: isolated, sandboxed, no Node, the renderer loaded from files', () => {
    expect(fake.windows).toHaveLength(1);
    const { webPreferences } = window().options;
    expect(webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(webPreferences.preload).toBe(join(OUT, 'preload', 'preload.cjs'));
    expect(existsSync(webPreferences.preload as string)).toBe(true);
    expect(window().loaded).toEqual({ kind: 'file', target: join(OUT, 'renderer', 'index.html') });
    expect(existsSync(window().loaded!.target)).toBe(true);
    // The core host is the built entry, forked as a utility process with the desktop mode.
    expect(fake.children[0].entry).toBe(join(OUT, 'main', 'host.js'));
    expect(fake.children[0].env.MARKETDESK_HOST_MODE).toBe('desktop');
  });

  it('blocks new windows and navigation away from the app; http links go to the system browser', () => {
    const contents = window().webContents;
    expect(contents.windowOpenHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(contents.windowOpenHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(fake.opened).toContainEqual({ kind: 'external', target: 'https://evil.example/' });
    expect(fake.opened).not.toContainEqual({ kind: 'external', target: 'file:///etc/passwd' });

    for (const channel of ['will-navigate', 'will-redirect']) {
      const away = new FakeEvent();
      contents.emit(channel, away, 'https://evil.example/phish');
      expect(away.defaultPrevented).toBe(true);
      const outside = new FakeEvent();
      contents.emit(channel, outside, 'file:///etc/passwd');
      expect(outside.defaultPrevented).toBe(true);
      const inside = new FakeEvent();
      contents.emit(channel, inside, `${trusted.senderFrame.url}#/runs`);
      expect(inside.defaultPrevented).toBe(false);
    }
    const webview = new FakeEvent();
    contents.emit('will-attach-webview', webview);
    expect(webview.defaultPrevented).toBe(true);

    let granted: boolean | null = null;
    fake.permissionHandler?.({}, 'media', (g) => {
      granted = g;
    });
    expect(granted).toBe(false);
    let headers: unknown = null;
    fake.headersHook?.({ responseHeaders: {} }, (r) => {
      headers = r;
    });
    expect(headers).toEqual({ responseHeaders: { 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });

  it('registers an IPC handler for every contract method, and each one refuses input that breaks its schema', async () => {
    const registered = [...fake.handlers.keys()].sort();
    expect(registered).toEqual(METHOD_NAMES.map(callChannel).sort());

    const before = postedCalls().length;
    for (const method of METHOD_NAMES) {
      for (const input of [{ __notAField: true }, null]) {
        const res = await invoke(method, input);
        expect(res.ok, `${method} accepted ${JSON.stringify(input)}`).toBe(false);
        if (!res.ok) {
          expect(res.error.code, method).toBe('invalid_input');
          expect(res.error.issues?.length, method).toBeGreaterThan(0);
        }
      }
    }
    // Refused in main: nothing reached the core host.
    expect(postedCalls().length).toBe(before);

    const status = await invoke('system.status', {});
    expect(status).toMatchObject({ ok: true, result: { dataDir, mode: 'desktop' } });

    const stranger = await invoke('system.status', {}, { senderFrame: { url: 'https://evil.example/' } });
    expect(stranger).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('relays core events to the window', async () => {
    await invoke('settings.update', { values: { CACHE_TTL_HOURS: 48 } });
    await until(
      () => window().webContents.sent.find((s) => s.channel === EVENT_CHANNEL && s.args[0] === 'settings.changed'),
      'settings.changed to reach the window',
    );
  });

  it('has a menu whose items open the data and logs folders, show pages and back up', async () => {
    const template = fake.applicationMenu!.template;
    await click(menuItem(template, ['File', 'Open Data Folder']));
    expect(fake.opened).toContainEqual({ kind: 'path', target: dataDir });
    await click(menuItem(template, ['Help', 'Open Logs Folder']));
    expect(fake.opened).toContainEqual({ kind: 'path', target: `${dataDir}/logs` });
    await click(menuItem(template, ['Help', 'Documentation']));
    expect(fake.opened.at(-1)?.target).toMatch(/docs[/\\]DESKTOP\.md$/);

    for (const [label, page] of [
      ['Dashboard', 'dashboard'],
      ['Runs', 'runs'],
      ['Webhooks', 'webhooks'],
      ['Settings', 'settings'],
    ]) {
      await click(menuItem(template, ['View', label]));
      expect(window().webContents.sent.at(-1)).toEqual({ channel: EVENT_CHANNEL, args: ['desktop.navigate', { page }] });
    }

    await click(menuItem(template, ['File', 'Back Up Now']));
    expect(postedCalls()).toContain('backups.create');
    await until(() => toldInWindow().some((t) => t.startsWith('Backup')), 'the backup outcome in the window');
  });

  it('shows IBKR, webhook and last-run status in the tray, and its quick actions call the core', async () => {
    const tray = fake.trays[0];
    await until(() => tray.menu && tray.tooltip.includes('IBKR'), 'the tray status');
    const labels = tray.menu!.template.map((i) => i.label ?? '');
    expect(labels.some((l) => l.startsWith('IBKR:'))).toBe(true);
    expect(labels.some((l) => l.startsWith('Webhooks:'))).toBe(true);
    expect(labels.some((l) => l.startsWith('Last run:'))).toBe(true);
    expect(postedCalls()).toContain('dashboard.summary');

    await click(menuItem(tray.menu!.template, ['Refresh Cache']));
    await until(() => postedCalls().includes('cache.refresh'), 'cache.refresh to be called');

    await click(menuItem(tray.menu!.template, ['Run Pipeline Now']));
    await until(() => postedCalls().includes('runs.trigger'), 'runs.trigger to be called');
    // The outcome is told in the window (and as a desktop notification when the window is not in front).
    await until(() => toldInWindow().some((t) => t.startsWith('Run pipeline')), 'the run outcome in the window');

    await click(menuItem(tray.menu!.template, ['Debug Mode']));
    await until(async () => {
      const status = await invoke('system.status', {});
      return status.ok && (status.result as { debugMode: boolean }).debugMode;
    }, 'debug mode to be on');
    await until(() => tray.menu?.template.find((i) => i.label === 'Debug Mode')?.checked === true, 'the tray to show debug mode');
    await click(menuItem(tray.menu!.template, ['Debug Mode']));
    await until(async () => {
      const status = await invoke('system.status', {});
      return status.ok && !(status.result as { debugMode: boolean }).debugMode;
    }, 'debug mode to be off again');
  });

  it('keeps secrets in the OS keychain, not settings.json, and hands them to a restarted core', async () => {
    const forks = fake.children.length;
    const res = await invoke('settings.update', { values: { WEBHOOK_SECRET: 'correct-horse', CACHE_TTL_HOURS: 12 } });
    expect(res).toMatchObject({ ok: true });
    if (res.ok)
      expect((res.result as { changed: string[] }).changed).toEqual(
        expect.arrayContaining(['WEBHOOK_SECRET', 'CACHE_TTL_HOURS']),
      );
    const vault = readFileSync(join(userData, 'secrets.json'), 'utf8');
    expect(vault).not.toContain('correct-horse');
    expect(readFileSync(join(dataDir, 'settings.json'), 'utf8')).not.toContain('correct-horse');
    expect(fake.children.length).toBe(forks + 1);
    expect(fake.children.at(-1)!.env.WEBHOOK_SECRET).toBe('correct-horse');
    const view = await invoke('settings.get', {});
    expect(view).toMatchObject({ ok: true, result: { values: { WEBHOOK_SECRET: '********', CACHE_TTL_HOURS: 12 } } });
  });

  it('restarts the core with a notice when it dies, and the window keeps working', async () => {
    const before = desktop.host.info!.pid;
    const notes = fake.notifications.length;
    fake.children.at(-1)!.kill();
    await until(
      () => fake.notifications.slice(notes).find((n) => n.options.title === 'Marketdesk core restarted'),
      'a restart notification',
    );
    expect(window().webContents.sent.some((s) => s.args[0] === 'system.notice')).toBe(true);
    await until(() => desktop.host.state === 'ready' && desktop.host.info!.pid !== before, 'the core to be back');
    expect(await invoke('system.status', {})).toMatchObject({ ok: true });
  });

  it('remembers the window size and position, and a second launch focuses the existing window', async () => {
    const first = window();
    first.moveTo({ x: 40, y: 60, width: 1500, height: 900 });
    await until(() => existsSync(join(userData, 'window-state.json')), 'the window state to be saved');
    expect(JSON.parse(readFileSync(join(userData, 'window-state.json'), 'utf8'))).toMatchObject({
      x: 40,
      y: 60,
      width: 1500,
      height: 900,
      maximized: false,
    });
    first.minimize();
    app.emit('second-instance', {}, ['marketdesk']);
    expect(first.calls.slice(-3)).toEqual(['restore', 'show', 'focus']);
    expect(fake.windows.filter((w) => !w.destroyed)).toHaveLength(1);
  });

  it('in tray mode, closing the window only hides it: the core keeps running (webhooks keep arriving)', async () => {
    await invoke('settings.update', { values: { DESKTOP_KEEP_IN_TRAY: true } });
    await until(() => desktop.keepInTray, 'tray mode to be on');
    const win = window();
    expect(win.close()).toBe(false);
    expect(win.destroyed).toBe(false);
    expect(win.visible).toBe(false);
    expect(fake.quitRequests).toBe(0);
    expect(desktop.host.state).toBe('ready');
    expect(await invoke('system.status', {})).toMatchObject({ ok: true });

    await click(menuItem(fake.trays[0].menu!.template, ['Open Marketdesk']));
    expect(win.visible).toBe(true);
  });

  it('without tray mode, closing the window quits gracefully: the core stops and the stores reopen at once', async () => {
    await invoke('settings.update', { values: { DESKTOP_KEEP_IN_TRAY: false } });
    await until(() => !desktop.keepInTray, 'tray mode to be off');
    const win = window();
    expect(win.close()).toBe(true);
    // Longer than the 15 s after which the app kills a core that does not stop; a failure shows the core's last words.
    await until(() => fake.quitCompleted, 'the app to finish quitting', 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; host ${desktop.host.state}; core log ends:\n${logTail(20)}`);
    });
    const core = fake.children.at(-1)!;
    expect(core.posted).toContainEqual({ kind: 'stop' });
    expect(core.exitCode).toBe(0);
    expect(fake.trays[0].destroyed).toBe(true);
    // The stores were checkpointed and closed: they open again at once, with what was saved.
    const reopened = await openTestWorkstation({}, { dataDir });
    expect(reopened.ws.settings.get().CACHE_TTL_HOURS).toBe(12);
    await reopened.ws.stop();
  });
});
