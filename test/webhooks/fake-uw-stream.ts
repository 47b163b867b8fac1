/**
 * A stand-in for Unusual Whales' WebSocket on 127.0.0.1: it checks the token, records every join message,
 * acknowledges joins the way the real socket does, and lets a test push frames and drop connections.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface FakeUwConnection {
  socket: WebSocket;
  token: string | null;
  joins: unknown[];
}

export class FakeUwStream {
  readonly connections: FakeUwConnection[] = [];
  /** Connections refused because the token was wrong (or `refuseAllWith` was set). */
  refused = 0;
  /** When false, joins are recorded but not acknowledged (a server that is slow to confirm). */
  ackJoins = true;
  /** When set, every connection is refused with this HTTP status (e.g. 503: the provider is down). */
  refuseAllWith: number | null = null;
  /** The token accepted from now on (an account whose token was renewed or re-enabled). */
  acceptToken: string;
  private readonly server: WebSocketServer;
  private readonly waiters = new Set<() => void>();
  private readonly expectedToken: string;

  private constructor(server: WebSocketServer, expectedToken: string) {
    this.server = server;
    server.on('connection', (socket, req) => {
      const token = new URL(req.url ?? '/', 'ws://x').searchParams.get('token');
      const conn: FakeUwConnection = { socket, token, joins: [] };
      this.connections.push(conn);
      socket.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { channel?: string; msg_type?: string };
        conn.joins.push(msg);
        if (msg.msg_type === 'join' && this.ackJoins) socket.send(JSON.stringify([msg.channel, { response: {}, status: 'ok' }]));
        this.wake();
      });
      this.wake();
    });
    this.expectedToken = expectedToken;
    this.acceptToken = expectedToken;
  }

  static async start(expectedToken = 'uw-test-token'): Promise<FakeUwStream> {
    let fake: FakeUwStream | undefined;
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      verifyClient: (info, done) => {
        const token = new URL(info.req.url ?? '/', 'ws://x').searchParams.get('token');
        const status = fake?.refuseAllWith ?? (token === (fake?.acceptToken ?? expectedToken) ? null : 401);
        if (status === null) return done(true);
        if (fake) fake.refused++;
        fake?.wake();
        done(false, status, status === 401 ? 'Unauthorized' : 'Unavailable');
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    fake = new FakeUwStream(server, expectedToken);
    return fake;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `ws://127.0.0.1:${port}/socket`;
  }

  get token(): string {
    return this.expectedToken;
  }

  /** The newest live connection. */
  get latest(): FakeUwConnection {
    const conn = this.connections.at(-1);
    if (!conn) throw new Error('no client connected');
    return conn;
  }

  send(frame: unknown): void {
    this.latest.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Cuts the connection abruptly, as a network drop would. */
  drop(): void {
    this.latest.socket.terminate();
  }

  /** Waits until `check` holds, re-checking whenever the server sees something; fails after `timeoutMs`. */
  async until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, 50);
        this.waiters.add(done);
      });
    }
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  async close(): Promise<void> {
    for (const c of this.server.clients) c.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `check` until it holds or the deadline passes (for state that lives outside the fake server). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
