/** Starts a real workstation + control server on an ephemeral port and opens the built UI in Chromium. */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { RENDERER_DIR } from '../../core/cli/commands/serve';
import { type ControlServer, startControlServer } from '../../core/server';
import type { Workstation } from '../../core/workstation';
import { openTestWorkstation } from '../support/workstation';
import { launchChromium } from './browser';

export interface ServedApp {
  page: Page;
  browser: Browser;
  baseUrl: string;
  token: string;
  server: ControlServer;
  ws: Workstation;
  dataDir: string;
  /** Console errors and page errors seen so far (tests may assert there are none). */
  pageErrors: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface ServeOptions {
  demo?: boolean;
  env?: Record<string, string>;
  dataDir?: string;
  /** Page to open, e.g. 'settings'. */
  path?: string;
  /** The browser's time zone (IANA), e.g. 'America/Los_Angeles'; Chromium's own by default. */
  timezoneId?: string;
}

export async function startServedApp(options: ServeOptions = {}): Promise<ServedApp> {
  if (!existsSync(`${RENDERER_DIR}/index.html`)) {
    throw new Error(`The renderer is not built (${RENDERER_DIR}); run \`npm run build:renderer\` first`);
  }
  const test = await openTestWorkstation(options.env ?? {}, { demo: options.demo ?? false, dataDir: options.dataDir });
  const server = await startControlServer({
    dispatcher: test.ws.dispatcher,
    events: test.ws.events,
    logger: test.ws.logger,
    port: 0,
    staticDir: RENDERER_DIR,
  });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, timezoneId: options.timezoneId });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
  const hashPath = options.path ? `/${options.path}` : '';
  await page.goto(`${server.url}/#token=${server.token}`);
  if (hashPath) await page.evaluate((h) => (window.location.hash = `#${h}`), hashPath);
  await page.waitForSelector('[data-testid="app-shell"]');
  return {
    page,
    browser,
    baseUrl: server.url,
    token: server.token,
    server,
    ws: test.ws,
    dataDir: test.dataDir,
    pageErrors,
    async screenshot(name) {
      const path = `/tmp/marketdesk-${name}.png`;
      await page.screenshot({ path, fullPage: false });
      return path;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await server.close();
      await test.dispose();
    },
  };
}
