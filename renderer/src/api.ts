/**
 * The renderer's one client. In the desktop app the preload exposes `window.marketdesk` (IPC);
 * in serve mode the page talks HTTP/WebSocket to the same origin with the access token it was opened with.
 */
import { ApiClient, type ApiTransport, httpTransport } from '../../core/api/browser';

declare global {
  interface Window {
    marketdesk?: ApiTransport;
  }
}

const TOKEN_KEY = 'marketdesk.token';

/** The token arrives once in the URL fragment (#token=…); keep it for the session and clean the address bar. */
function serveToken(): string {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match) {
    const token = decodeURIComponent(match[1]);
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', window.location.pathname + window.location.search);
    return token;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function createTransport(): ApiTransport {
  if (window.marketdesk) return window.marketdesk;
  return httpTransport(window.location.origin, serveToken());
}

export const api = new ApiClient(createTransport());
export const isDesktop = Boolean(window.marketdesk);
export { ApiCallError } from '../../core/api/browser';
