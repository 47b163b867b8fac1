/**
 * The desktop main process. It owns the window, menu, tray, notifications, the single-instance
 * lock and shutdown — nothing else. The workstation runs in the core host (a utilityProcess),
 * reached through core's HostClient; every renderer call is validated here against the contract.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, safeStorage, screen, session, shell, Tray } from 'electron';
import type { DashboardSummary } from '../core/api/dashboard';
import type { CallResult } from '../core/api/define';
import { EVENT_CHANNEL, isAppUrl, MIN_WINDOW_SIZE, SecretVault, splitSecretPatch } from '../core/desktop';
import { type AppActions, createAppActions, type PageId } from './actions';
import { createCoreHost } from './host-process';
import { registerContractBridge } from './ipc';
import { buildMenuTemplate } from './menu';
import { type NoticePayload, shouldNotify, showNotice } from './notifications';
import { guardWebContents, hardenSession, secureWebPreferences } from './security';
import { trayMenuTemplate, trayTooltip } from './tray';
import { initialWindowState, trackWindowState } from './window-state';

const here = dirname(fileURLToPath(import.meta.url));
export const HOST_ENTRY = join(here, 'host.js');
export const PRELOAD = join(here, '../preload/preload.cjs');
export const RENDERER_INDEX = join(here, '../renderer/index.html');
const RESOURCES = app.isPackaged ? join(process.resourcesPath, 'resources') : join(here, '../../resources');
const DOCS = app.isPackaged ? join(process.resourcesPath, 'docs', 'DESKTOP.md') : join(here, '../../docs/DESKTOP.md');
const DEV_URL = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const APP_URL = DEV_URL ?? pathToFileURL(RENDERER_INDEX).href;
const TRAY_REFRESH_MS = 15_000;

let win: BrowserWindow | null = null;
let tray: Tray | null = null;
let summary: DashboardSummary | null = null;
let keepInTray = false;
let quitting = false;
let stopped = false;

const vault = new SecretVault(join(app.getPath('userData'), 'secrets.json'), safeStorage);
const host = createCoreHost({
  entry: HOST_ENTRY,
  // Secrets from the OS keychain; an explicit environment variable still wins.
  env: () => ({
    ...vault.read(),
    ...process.env,
    MARKETDESK_HOST_MODE: 'desktop',
    ...(process.argv.includes('--demo') ? { MARKETDESK_DEMO: '1' } : {}),
  }),
});

const call = (method: string, input: unknown): Promise<CallResult> => host.call(method, input);

function showWindow(): void {
  if (!win || win.isDestroyed()) createWindow();
  if (!win) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}

function showPage(page: PageId): void {
  showWindow();
  win?.webContents.send(EVENT_CHANNEL, 'desktop.navigate', { page });
}

const actions: AppActions = createAppActions({
  call,
  notify: (level, title, message) => notify({ level, title, message }),
  showWindow,
  showPage,
  openPath: (path) => void shell.openPath(path),
  dataDir: () => host.info?.dataDir ?? app.getPath('userData'),
  docsPath: DOCS,
  quit: () => app.quit(),
});

/** Outcomes of menu/tray actions also appear in the window's notices; core notices reach it as events already. */
function notify(notice: NoticePayload, fromCore = false): void {
  if (!fromCore && win && !win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, 'system.notice', notice);
  if (!shouldNotify(notice, Boolean(win?.isFocused()))) return;
  showNotice(notice, () => {
    const page = notice.link?.replace(/^#?\/?/, '').split('/')[0] as PageId | undefined;
    if (page) showPage(page);
    else showWindow();
  });
}

function createWindow(): void {
  const stateFile = join(app.getPath('userData'), 'window-state.json');
  const state = initialWindowState(
    stateFile,
    screen.getAllDisplays().map((d) => d.workArea),
  );
  win = new BrowserWindow({
    x: state.x,
    y: state.y,
    width: state.width,
    height: state.height,
    minWidth: MIN_WINDOW_SIZE.width,
    minHeight: MIN_WINDOW_SIZE.height,
    show: false,
    title: 'Marketdesk',
    backgroundColor: '#0f1218',
    icon: join(RESOURCES, 'icon.png'),
    webPreferences: secureWebPreferences(PRELOAD),
  });
  if (state.maximized) win.maximize();
  trackWindowState(win, stateFile);
  const shown = win;
  shown.once('ready-to-show', () => shown.show());
  shown.on('close', (event) => {
    // Tray mode: the window goes, the workstation (webhook listener, scheduler) keeps running.
    if (!quitting && keepInTray) {
      event.preventDefault();
      shown.hide();
    }
  });
  shown.on('closed', () => {
    if (win === shown) win = null;
  });
  if (DEV_URL) void shown.loadURL(DEV_URL);
  else void shown.loadFile(RENDERER_INDEX);
}

async function refreshTray(): Promise<void> {
  const res = host.state === 'ready' ? await call('dashboard.summary', {}) : null;
  summary = res?.ok ? (res.result as DashboardSummary) : null;
  if (!tray) return;
  const problem = host.state === 'failed' ? (host.lastFatal?.message ?? 'stopped') : null;
  tray.setToolTip(trayTooltip(summary, problem));
  tray.setContextMenu(Menu.buildFromTemplate(trayMenuTemplate(summary, actions, problem)));
}

async function readKeepInTray(): Promise<void> {
  const res = await call('settings.get', {});
  if (res.ok) keepInTray = (res.result as { values: Record<string, unknown> }).values.DESKTOP_KEEP_IN_TRAY === true;
}

/** Secrets never reach settings.json here: main keeps them in the keychain and restarts the core to pass them on. */
async function updateSettings(input: unknown): Promise<CallResult> {
  const { values } = input as { values: Record<string, unknown> };
  const { secrets, rest } = splitSecretPatch(values);
  const secretKeys = Object.keys(secrets);
  if (secretKeys.length === 0) return call('settings.update', input);
  try {
    vault.write(secrets);
  } catch (err) {
    return { ok: false, error: { code: 'SECRET_STORE_UNAVAILABLE', status: 500, message: (err as Error).message } };
  }
  const res = await call('settings.update', { values: rest });
  if (!res.ok) return res;
  await host.restart().catch(() => undefined);
  const view = await call('settings.get', {});
  const result = res.result as { changed: string[]; settings: unknown };
  return { ok: true, result: { changed: [...result.changed, ...secretKeys], settings: view.ok ? view.result : result.settings } };
}

function wireHost(): void {
  host.subscribe((name, payload) => {
    if (win && !win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, name, payload);
    if (name === 'system.notice') notify(payload as NoticePayload, true);
    if (name === 'settings.changed') void readKeepInTray().then(refreshTray);
  });
  host.onState((state) => {
    if (state === 'ready') void readKeepInTray().then(refreshTray);
    else void refreshTray();
  });
}

async function start(): Promise<void> {
  app.setAppUserModelId('com.marketdesk.app');
  hardenSession(session.defaultSession, { dev: Boolean(DEV_URL) });
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents, () => APP_URL));
  registerContractBridge({
    ipcMain,
    call,
    isTrustedSender: (url) => isAppUrl(url, APP_URL),
    intercept: { 'settings.update': updateSettings },
  });
  Menu.setApplicationMenu(Menu.buildFromTemplate(buildMenuTemplate(actions)));
  const trayIcon = nativeImage.createFromPath(join(RESOURCES, 'tray.png'));
  tray = new Tray(trayIcon);
  tray.on('click', () => showWindow());
  wireHost();
  createWindow();
  void refreshTray();
  setInterval(() => void refreshTray(), TRAY_REFRESH_MS).unref();
  try {
    await host.start();
  } catch (err) {
    // The window stays up; every call answers with this message, and the status bar shows it.
    dialog.showErrorBox('Marketdesk could not start its core', (err as Error).message);
  }
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => showWindow());
  app.on('activate', () => showWindow());
  app.on('window-all-closed', () => {
    if (!keepInTray) app.quit();
  });
  // Graceful quit: the core finishes in-flight webhook commits and checkpoints both stores first.
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    if (quitting) return;
    quitting = true;
    void host.stop().finally(() => {
      stopped = true;
      tray?.destroy();
      app.quit();
    });
  });
  void app.whenReady().then(start);
}

/** Read-only handles for the tests that load this bundle with `electron` replaced. */
export const desktop = {
  host,
  get window() {
    return win;
  },
  get keepInTray() {
    return keepInTray;
  },
};
