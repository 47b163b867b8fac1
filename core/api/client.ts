/**
 * The one typed client the renderer (and tests, and the CLI) use. It is derived from the
 * contract and works over any transport: HTTP/WebSocket in serve mode, IPC in the desktop app,
 * a message port to the core host.
 */
import type { EventName, EventPayload, MethodInput, MethodName, MethodOutput } from './contract';
import type { ApiIssue, CallResult } from './define';
import { decodeTypedArrays, TYPED_ARRAYS_BASE64, TYPED_ARRAYS_HEADER } from './typed-arrays';

export interface ApiTransport {
  call(method: string, input: unknown): Promise<CallResult>;
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
}

export class ApiCallError extends Error {
  readonly code: string;
  readonly status: number;
  readonly issues: ApiIssue[];

  constructor(code: string, message: string, status: number, issues: ApiIssue[] = []) {
    super(message);
    this.name = 'ApiCallError';
    this.code = code;
    this.status = status;
    this.issues = issues;
  }
}

export class ApiClient {
  readonly transport: ApiTransport;

  constructor(transport: ApiTransport) {
    this.transport = transport;
  }

  async call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
    const res = await this.transport.call(method, input);
    if (!res.ok) throw new ApiCallError(res.error.code, res.error.message, res.error.status, res.error.issues);
    return res.result as MethodOutput<M>;
  }

  on<E extends EventName>(name: E, handler: (payload: EventPayload<E>) => void): () => void {
    return this.transport.subscribe((event, payload) => {
      if (event === name) handler(payload as EventPayload<E>);
    });
  }

  onAny(handler: (event: EventName, payload: unknown) => void): () => void {
    return this.transport.subscribe((event, payload) => handler(event as EventName, payload));
  }
}

/** HTTP calls plus a WebSocket for events, authenticated with the serve token. Reconnects itself. */
export function httpTransport(baseUrl: string, token: string, options: { WebSocketImpl?: typeof WebSocket } = {}): ApiTransport {
  const listeners = new Set<(event: string, payload: unknown) => void>();
  let socket: WebSocket | null = null;
  let retryMs = 500;
  const WS = options.WebSocketImpl ?? globalThis.WebSocket;

  const connect = () => {
    if (socket || listeners.size === 0 || !WS) return;
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/events?token=${encodeURIComponent(token)}`;
    const ws = new WS(url);
    socket = ws;
    ws.onopen = () => {
      retryMs = 500;
    };
    ws.onmessage = (msg: MessageEvent) => {
      const data = JSON.parse(String(msg.data)) as { event: string; payload: unknown };
      for (const l of listeners) l(data.event, data.payload);
    };
    ws.onclose = () => {
      socket = null;
      if (listeners.size === 0) return;
      retryMs = Math.min(retryMs * 2, 10_000);
      setTimeout(connect, retryMs);
    };
  };

  return {
    async call(method, input) {
      const res = await fetch(`${baseUrl}/api/call/${method}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          [TYPED_ARRAYS_HEADER]: TYPED_ARRAYS_BASE64,
        },
        body: JSON.stringify(input ?? {}),
      });
      const text = await res.text();
      try {
        return decodeTypedArrays(JSON.parse(text)) as CallResult;
      } catch {
        return { ok: false, error: { code: 'transport', status: res.status, message: text || res.statusText } };
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) socket?.close();
      };
    },
  };
}
