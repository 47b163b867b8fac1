/**
 * A stand-in for the `electron` module that records what main does with it: window options,
 * ipcMain handlers, menus, tray, notifications, shell calls. `utilityProcess.fork` really forks the
 * given entry with Node (the built core host runs fine outside Electron), so calls reach real stores.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';

type Handler = (event: unknown, ...args: unknown[]) => unknown;
export type TemplateItem = {
  label?: string;
  role?: string;
  type?: string;
  enabled?: boolean;
  checked?: boolean;
  submenu?: TemplateItem[];
  click?: (...args: unknown[]) => unknown;
};

export class FakeEvent {
  defaultPrevented = false;
  preventDefault() {
    this.defaultPrevented = true;
  }
}

class FakeWebContents extends EventEmitter {
  sent: { channel: string; args: unknown[] }[] = [];
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  send(channel: string, ...args: unknown[]) {
    this.sent.push({ channel, args });
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
    this.windowOpenHandler = handler;
  }
}

export interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const fake = {
  userData: '',
  lock: true,
  windows: [] as FakeBrowserWindow[],
  handlers: new Map<string, Handler>(),
  applicationMenu: null as { template: TemplateItem[] } | null,
  trays: [] as FakeTray[],
  notifications: [] as FakeNotification[],
  opened: [] as { kind: 'path' | 'external'; target: string }[],
  errorBoxes: [] as { title: string; content: string }[],
  quitRequests: 0,
  quitCompleted: false,
  children: [] as FakeUtilityProcess[],
  forkCwd: '',
  headersHook: null as null | ((details: { responseHeaders: Record<string, string[]> }, cb: (r: unknown) => void) => void),
  permissionHandler: null as null | ((wc: unknown, permission: string, cb: (granted: boolean) => void) => void),
  ready: null as unknown as () => void,
};

export class FakeBrowserWindow extends EventEmitter {
  readonly options: Record<string, unknown> & { webPreferences: Record<string, unknown> };
  readonly webContents = new FakeWebContents();
  loaded: { kind: 'file' | 'url'; target: string } | null = null;
  bounds: Bounds;
  visible = false;
  focused = false;
  minimized = false;
  maximized = false;
  destroyed = false;
  calls: string[] = [];

  constructor(options: FakeBrowserWindow['options']) {
    super();
    this.options = options;
    this.bounds = {
      x: (options.x as number | undefined) ?? 100,
      y: (options.y as number | undefined) ?? 100,
      width: options.width as number,
      height: options.height as number,
    };
    fake.windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  loadFile(target: string) {
    this.loaded = { kind: 'file', target };
    setImmediate(() => this.emit('ready-to-show'));
    return Promise.resolve();
  }
  loadURL(target: string) {
    this.loaded = { kind: 'url', target };
    return Promise.resolve();
  }
  show() {
    this.calls.push('show');
    this.visible = true;
  }
  hide() {
    this.calls.push('hide');
    this.visible = false;
  }
  focus() {
    this.calls.push('focus');
    this.focused = true;
  }
  restore() {
    this.calls.push('restore');
    this.minimized = false;
  }
  minimize() {
    this.minimized = true;
  }
  maximize() {
    this.maximized = true;
    this.emit('maximize');
  }
  isMinimized() {
    return this.minimized;
  }
  isMaximized() {
    return this.maximized;
  }
  isFocused() {
    return this.focused;
  }
  isDestroyed() {
    return this.destroyed;
  }
  getBounds() {
    return { ...this.bounds };
  }
  getNormalBounds() {
    return { ...this.bounds };
  }
  /** The user drags/resizes the window. */
  moveTo(bounds: Bounds) {
    this.bounds = bounds;
    this.emit('resize');
    this.emit('move');
  }
  /** The user clicks the close button. */
  close() {
    const event = new FakeEvent();
    this.emit('close', event);
    if (event.defaultPrevented) return false;
    this.destroyed = true;
    this.visible = false;
    this.emit('closed');
    if (fake.windows.every((w) => w.destroyed)) app.emit('window-all-closed');
    return true;
  }
}

class FakeTray extends EventEmitter {
  readonly icon: unknown;
  menu: { template: TemplateItem[] } | null = null;
  tooltip = '';
  destroyed = false;
  constructor(icon: unknown) {
    super();
    this.icon = icon;
    fake.trays.push(this);
  }
  setContextMenu(menu: { template: TemplateItem[] }) {
    this.menu = menu;
  }
  setToolTip(text: string) {
    this.tooltip = text;
  }
  destroy() {
    this.destroyed = true;
  }
}

class FakeNotification extends EventEmitter {
  static isSupported() {
    return true;
  }
  readonly options: { title: string; body: string };
  shown = false;
  constructor(options: { title: string; body: string }) {
    super();
    this.options = options;
    fake.notifications.push(this);
  }
  show() {
    this.shown = true;
  }
}

/** A utilityProcess backed by a real Node child process running the same entry. */
export class FakeUtilityProcess extends EventEmitter {
  readonly entry: string;
  readonly env: NodeJS.ProcessEnv;
  readonly proc: ChildProcess;
  readonly posted: unknown[] = [];
  exitCode: number | null | undefined = undefined;
  constructor(entry: string, options: { env?: NodeJS.ProcessEnv }) {
    super();
    this.entry = entry;
    this.env = options.env ?? {};
    this.proc = fork(entry, [], {
      env: this.env,
      cwd: fake.forkCwd || undefined,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m) => this.emit('message', m));
    this.proc.on('exit', (code) => {
      this.exitCode = code;
      this.emit('exit', code ?? 1);
    });
    fake.children.push(this);
  }
  get pid() {
    return this.proc.pid;
  }
  postMessage(message: unknown) {
    this.posted.push(message);
    if (this.proc.connected) this.proc.send(message as object);
  }
  kill() {
    return this.proc.kill('SIGKILL');
  }
}

export const app = Object.assign(new EventEmitter(), {
  isPackaged: false,
  getPath: (name: string) => (name === 'userData' ? fake.userData : `${fake.userData}/${name}`),
  requestSingleInstanceLock: () => fake.lock,
  setAppUserModelId: () => undefined,
  whenReady: () => new Promise<void>((resolve) => (fake.ready = resolve)),
  quit() {
    fake.quitRequests++;
    const event = new FakeEvent();
    app.emit('before-quit', event);
    if (!event.defaultPrevented) fake.quitCompleted = true;
  },
});

export const electronModule = {
  app,
  BrowserWindow: FakeBrowserWindow,
  ipcMain: {
    handle(channel: string, handler: Handler) {
      if (fake.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      fake.handlers.set(channel, handler);
    },
  },
  Menu: {
    buildFromTemplate: (template: TemplateItem[]) => ({ template }),
    setApplicationMenu(menu: { template: TemplateItem[] }) {
      fake.applicationMenu = menu;
    },
  },
  Tray: FakeTray,
  Notification: FakeNotification,
  nativeImage: { createFromPath: (path: string) => ({ path }) },
  shell: {
    openPath: async (target: string) => {
      fake.opened.push({ kind: 'path', target });
      return '';
    },
    openExternal: async (target: string) => {
      fake.opened.push({ kind: 'external', target });
    },
  },
  dialog: {
    showErrorBox: (title: string, content: string) => fake.errorBoxes.push({ title, content }),
  },
  screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
  session: {
    defaultSession: {
      setPermissionRequestHandler(handler: typeof fake.permissionHandler) {
        fake.permissionHandler = handler;
      },
      setPermissionCheckHandler: () => undefined,
      webRequest: {
        onHeadersReceived(hook: typeof fake.headersHook) {
          fake.headersHook = hook;
        },
      },
    },
  },
  safeStorage: {
    isEncryptionAvailable: () => true,
    encryptString: (plain: string) => Buffer.from(`sealed:${Buffer.from(plain).toString('hex')}`),
    decryptString: (sealed: Buffer) => Buffer.from(sealed.toString().replace(/^sealed:/, ''), 'hex').toString(),
  },
  utilityProcess: {
    fork: (entry: string, _args: string[], options: { env?: NodeJS.ProcessEnv }) => new FakeUtilityProcess(entry, options),
  },
};

/** Finds a menu item by its labels from the top, e.g. ['File', 'Open Data Folder']. */
export function menuItem(template: TemplateItem[], path: string[]): TemplateItem {
  let items = template;
  let found: TemplateItem | undefined;
  for (const label of path) {
    found = items.find((i) => i.label === label);
    if (!found) throw new Error(`No menu item "${label}" in ${items.map((i) => i.label ?? i.role).join(', ')}`);
    items = found.submenu ?? [];
  }
  return found as TemplateItem;
}

export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
