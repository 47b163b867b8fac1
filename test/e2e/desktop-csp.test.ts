/**
 * The built renderer, as the desktop window gets it: its own files with their Content-Security-Policy,
 * and `window.marketdesk` (the preload's IPC transport) answering from a real workstation. Every page
 * is opened; no CSP violation may happen, while an injected inline script is blocked (the policy is live).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDERER_DIR as BUILT_RENDERER } from '../../core/cli/commands/serve';
import { CONTENT_SECURITY_POLICY } from '../../core/desktop';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { launchChromium } from './browser';

/** MARKETDESK_RENDERER_DIR checks another build of the renderer (e.g. a candidate fix) the same way. */
const RENDERER_DIR = process.env.MARKETDESK_RENDERER_DIR ?? BUILT_RENDERER;

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

/** Serves out/renderer with the desktop CSP header (what main adds to anything not loaded from file://). */
function serveRenderer(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(RENDERER_DIR, path === '/' ? 'index.html' : path);
    try {
      const body = readFileSync(file);
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-security-policy': CONTENT_SECURITY_POLICY,
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let server: Server;
let browser: Browser;
let test: TestWorkstation;

beforeAll(async () => {
  const html = readFileSync(join(RENDERER_DIR, 'index.html'), 'utf8');
  expect(html, 'run `npm run build` first').toContain('Content-Security-Policy');
  test = await openTestWorkstation();
  server = await serveRenderer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  await test?.dispose();
});

describe('the renderer under its Content-Security-Policy', () => {
  it('ships no inline script and declares a strict policy', () => {
    const html = readFileSync(join(RENDERER_DIR, 'index.html'), 'utf8');
    const policy = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("object-src 'none'");
    expect(policy).not.toContain('unsafe-eval');
    expect(policy).not.toMatch(/script-src[^;]*unsafe-inline/);
    for (const tag of html.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? []) {
      expect(tag, 'inline script in index.html').toMatch(/\bsrc=/);
      expect(
        tag
          .replace(/<script\b[^>]*>/, '')
          .replace('</script>', '')
          .trim(),
      ).toBe('');
    }
  });

  it('opens every page with the IPC-shaped transport and no violation; an injected inline script is blocked', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    const consoleErrors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    // What the preload does in the desktop app: window.marketdesk = { call, subscribe }.
    await page.exposeFunction('__marketdeskCall', (method: string, input: unknown) =>
      test.ws.dispatcher.call(method, input, { via: 'ipc' }),
    );
    await page.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      w.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        (w.__violations as unknown[]).push({
          directive: e.violatedDirective,
          blocked: e.blockedURI,
          source: `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`,
        }),
      );
      w.marketdesk = {
        call: (method: string, input: unknown) =>
          (w.__marketdeskCall as (m: string, i: unknown) => Promise<unknown>)(method, input),
        subscribe: () => () => undefined,
      };
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await page.goto(`${base}/index.html`);
    await page.waitForSelector('[data-testid="app-shell"]');
    await page.waitForSelector('[data-testid="store-warehouse"].ok');

    for (const id of ['dashboard', 'market-data', 'runs', 'artifacts', 'webhooks', 'imports', 'integrity', 'settings']) {
      await page.click(`[data-testid="nav-${id}"]`);
      await page.waitForSelector(`[data-testid="page-${id}"]`);
    }
    await page.click('[data-testid="nav-dashboard"]');
    await page.waitForSelector('[data-testid="page-dashboard"][data-ready="true"]');

    expect(await page.evaluate(() => (window as unknown as { __violations: unknown[] }).__violations)).toEqual([]);
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);

    // The policy is live: an inline script is refused and reported.
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.head.appendChild(s);
    });
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { __violations: { directive: string }[] }).__violations.length))
      .toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan ?? false)).toBe(false);
    await page.close();
  });
});
