/** The desktop window's security rules: the Content-Security-Policy and which URLs count as the app. */

/**
 * No inline script, no eval, nothing remote. The desktop app talks to the core over IPC only, so
 * `connect-src 'self'` (no network at all from a file:// page). renderer/index.html carries the
 * same policy as a meta tag, widened for serve mode's 127.0.0.1 HTTP/WebSocket bridge.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // Inline style attributes only (charts size their canvases with them); no inline <script> anywhere.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
].join('; ');

/** True when `url` is the app itself: a file inside the renderer folder (never a remote page). */
export function isAppUrl(url: string, rendererIndexUrl: string): boolean {
  let target: URL;
  let app: URL;
  try {
    target = new URL(url);
    app = new URL(rendererIndexUrl);
  } catch {
    return false;
  }
  if (target.protocol !== app.protocol) return false;
  if (app.protocol === 'file:') {
    const root = app.pathname.slice(0, app.pathname.lastIndexOf('/') + 1);
    return target.pathname.startsWith(root) && !decodeURIComponent(target.pathname).includes('..');
  }
  return target.origin === app.origin;
}

/** Links the user may open in the system browser (after the window refused to navigate to them). */
export function isExternalLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
