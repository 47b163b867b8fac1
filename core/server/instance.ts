/**
 * How a CLI command finds the Marketdesk that holds the stores. A running app (serve or desktop) keeps the
 * journal and warehouse locked, so `marketdesk run` and `marketdesk runs …` cannot open them; instead they
 * ask the app, through its control API, using the URL and token the app publishes in `DATA_DIR/instance.json`
 * (owner-only permissions, removed when the app stops). The desktop app has no browser UI to serve, so it
 * opens a control API on a free loopback port just for this.
 */
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ApiClient, httpTransport } from '../api';
import type { Workstation } from '../workstation';
import { startControlServer } from './control-server';

export const INSTANCE_FILE = 'instance.json';

const instanceSchema = z.object({
  pid: z.number().int().positive(),
  url: z.string().regex(/^http:\/\/127\.0\.0\.1:\d+$/),
  token: z.string().min(16),
  mode: z.string(),
  startedAt: z.string(),
});
export type InstanceInfo = z.infer<typeof instanceSchema>;

/** Writes the instance file (atomically, owner-only); the returned function removes it if it is still ours. */
export function publishInstance(dataDir: string, info: Omit<InstanceInfo, 'pid' | 'startedAt'>): () => void {
  const path = join(dataDir, INSTANCE_FILE);
  const record: InstanceInfo = { ...info, pid: process.pid, startedAt: new Date().toISOString() };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return () => {
    if (readInstance(dataDir)?.pid === process.pid) rmSync(path, { force: true });
  };
}

/** The published instance, or null when there is none or the file is not one of ours. */
export function readInstance(dataDir: string): InstanceInfo | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, INSTANCE_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = instanceSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export interface RunningApp {
  info: InstanceInfo;
  client: ApiClient;
  demo: boolean;
}

/**
 * A client of the Marketdesk running on `dataDir`, or null: the file must name a live process whose control
 * API answers with the same data folder within `timeoutMs`.
 */
export async function connectToRunningApp(dataDir: string, timeoutMs = 3_000): Promise<RunningApp | null> {
  const info = readInstance(dataDir);
  if (!info || !processAlive(info.pid)) return null;
  const client = new ApiClient(httpTransport(info.url, info.token));
  try {
    const status = await Promise.race([
      client.call('system.status', {}),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
    if (status.dataDir !== dataDir) return null;
    return { info, client, demo: status.demo };
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The desktop host's control API for CLI commands: loopback, a free port, a fresh token, no static UI.
 * Returns the function that unpublishes and closes it.
 */
export async function serveForCli(ws: Workstation): Promise<() => Promise<void>> {
  const server = await startControlServer({
    dispatcher: ws.dispatcher,
    events: ws.events,
    logger: ws.logger.child({ component: 'cli-endpoint' }),
    port: 0,
  });
  const unpublish = publishInstance(ws.dataDir, { url: server.url, token: server.token, mode: ws.mode });
  return async () => {
    unpublish();
    await server.close();
  };
}
