/**
 * Serve mode's bridge: the built renderer as static files plus the contract over HTTP
 * (POST /api/call/:method) and WebSocket (/api/events). Binds loopback; every API request
 * needs the access token printed at start.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { WebSocketServer } from 'ws';
import type { ApiDispatcher, EventHub } from '../api';
import { encodeTypedArrays, TYPED_ARRAYS_BASE64, TYPED_ARRAYS_HEADER } from '../api/typed-arrays';
import { AppError, type Logger, secretEquals } from '../platform';

export interface ControlServerOptions {
  dispatcher: ApiDispatcher;
  events: EventHub;
  logger: Logger;
  host?: string;
  port: number;
  token?: string;
  /** Folder of the built renderer (out/renderer). */
  staticDir?: string;
}

export interface ControlServer {
  url: string;
  port: number;
  token: string;
  /** URL to open in a browser: carries the token once, the page then keeps it in session storage. */
  openUrl: string;
  close(): Promise<void>;
}

export function newAccessToken(): string {
  return randomBytes(24).toString('base64url');
}

export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? newAccessToken();
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  let boundPort = options.port;

  app.addHook('onRequest', async (req, reply) => {
    if (!hostAllowed(req.headers.host, boundPort)) {
      return reply.code(421).send({ ok: false, error: { code: 'bad_host', status: 421, message: 'Unexpected Host header' } });
    }
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    // frame-ancestors only works as a header, not in the page's <meta> CSP.
    reply.header('content-security-policy', "frame-ancestors 'none'");
    return payload;
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonInput(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  registerApiRoutes(app, options, token);
  await registerStatic(app, options.staticDir);

  try {
    await app.listen({ host, port: options.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new AppError(
        'PORT_IN_USE',
        `Port ${options.port} on ${host} is already in use (SERVE_PORT / --port): stop what holds it, or choose another port`,
        { status: 409 },
      );
    }
    throw err;
  }
  const address = app.server.address();
  boundPort = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${host}:${boundPort}`;
  const closeSockets = attachEventSocket(app, options.events, token, boundPort);
  options.logger.info('control server listening', { url });

  return {
    url,
    port: boundPort,
    token,
    openUrl: `${url}/#token=${token}`,
    async close() {
      closeSockets();
      await app.close();
    },
  };
}

function registerApiRoutes(app: FastifyInstance, options: ControlServerOptions, token: string): void {
  app.get('/api/health', async () => ({ ok: true }));

  app.post('/api/call/:method', async (req: FastifyRequest<{ Params: { method: string } }>, reply: FastifyReply) => {
    if (!secretEquals(bearer(req), token)) {
      return reply.code(401).send({
        ok: false,
        error: { code: 'unauthorized', status: 401, message: 'Missing or wrong access token (Authorization: Bearer <token>)' },
      });
    }
    if (req.body !== undefined && !String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return reply.code(415).send({
        ok: false,
        error: { code: 'unsupported_media_type', status: 415, message: 'Send the input as application/json' },
      });
    }
    const result = await options.dispatcher.call(req.params.method, req.body, { via: 'http' });
    const typed = req.headers[TYPED_ARRAYS_HEADER] === TYPED_ARRAYS_BASE64;
    return reply
      .code(result.ok ? 200 : result.error.status)
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(encodeTypedArrays(result, typed ? base64 : undefined)));
  });

  app.setErrorHandler((err: { statusCode?: number; message: string; code?: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) options.logger.error('control server error', { error: err.message });
    const message = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'Send the input as application/json' : err.message;
    reply.code(status).send({ ok: false, error: { code: status === 500 ? 'internal' : 'bad_request', status, message } });
  });
}

async function registerStatic(app: FastifyInstance, staticDir?: string): Promise<void> {
  if (staticDir && existsSync(staticDir)) {
    await app.register(fastifyStatic, { root: staticDir, index: 'index.html' });
    app.setNotFoundHandler((req, reply) => {
      if (req.method === 'GET' && !req.url.startsWith('/api/')) return reply.sendFile('index.html');
      return reply
        .code(404)
        .send({ ok: false, error: { code: 'not_found', status: 404, message: `No route ${req.method} ${req.url}` } });
    });
    return;
  }
  app.get('/', async (_req, reply) =>
    reply
      .type('text/html')
      .send('<h1>Marketdesk</h1><p>The UI is not built yet: run <code>npm run build</code>, then start serve again.</p>'),
  );
}

function attachEventSocket(app: FastifyInstance, events: EventHub, token: string, port: number): () => void {
  // The page only listens on this socket: a client frame has nothing to carry, so a big one is cut off early.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // The same Host check as every HTTP request (DNS rebinding): the upgrade does not pass the onRequest hook.
    if (!hostAllowed(req.headers.host, port)) {
      socket.end('HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api/events' || !secretEquals(url.searchParams.get('token') ?? undefined, token)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // A protocol error (an oversized or malformed frame) is emitted on the socket, and unheard it would end the
      // process; ws itself closes the connection with the matching code (1009, 1002…).
      ws.on('error', () => undefined);
      wss.emit('connection', ws, req);
    });
  });
  const unsubscribe = events.subscribe((event, payload) => {
    const frame = JSON.stringify({ event, payload });
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(frame);
  });
  return () => {
    unsubscribe();
    for (const client of wss.clients) client.terminate();
    wss.close();
  };
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  return undefined;
}

/** Refuses DNS-rebinding: a page on another origin that resolves to 127.0.0.1 sends its own Host. */
function hostAllowed(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return false;
  const allowed = ['127.0.0.1', 'localhost', '[::1]'];
  return allowed.some((h) => hostHeader === `${h}:${port}` || hostHeader === h);
}

/**
 * A request body as JSON. Keys that would reach an object's prototype (`__proto__`, `constructor.prototype`)
 * are refused by name, where fastify's parser answered "Body is not valid JSON" for perfectly valid JSON.
 */
function parseJsonInput(text: string): unknown {
  if (text.trim() === '') return undefined;
  const bad = (message: string) => Object.assign(new Error(message), { statusCode: 400 });
  try {
    return JSON.parse(text, (key, value) => {
      if (key === '__proto__') throw bad('The input holds a "__proto__" key, which is never accepted');
      if (key === 'constructor' && value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype'))
        throw bad('The input holds a "constructor.prototype" key, which is never accepted');
      return value;
    });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 400) throw err;
    if (err instanceof RangeError) throw bad('The input is nested too deeply to be read');
    throw bad(`The input is not valid JSON: ${(err as Error).message}`);
  }
}
