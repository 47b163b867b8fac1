/** Starts the real core host (core/host.ts under tsx) with child_process.fork, as a HostClient. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FromHost } from '../../core/api';
import { type HostChild, HostClient, type HostClientOptions } from '../../core/desktop';

export const HOST_ENTRY = fileURLToPath(new URL('../../core/host.ts', import.meta.url));
/** tsx's loader by absolute URL: the host runs with its data folder as cwd, where `--import tsx` would not resolve. */
const TSX_LOADER = pathToFileURL(fileURLToPath(new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url))).href;

export interface ForkedHost {
  host: HostClient;
  /** Every child started so far (restarts add more), with its exit code once it has exited. */
  children: { proc: ChildProcess; exit: Promise<number | null>; stderr: () => string }[];
}

/** Only what a host needs from the environment: no stray settings from the developer's shell. */
export function hostEnv(dataDir: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    DATA_DIR: dataDir,
    MARKETDESK_HOST_MODE: 'test',
    WEBHOOK_PORT: '0',
    ...env,
  };
}

export function forkHost(
  dataDir: string,
  env: Record<string, string> = {},
  options: Omit<HostClientOptions, 'spawn'> = {},
  entry = HOST_ENTRY,
): ForkedHost {
  const children: ForkedHost['children'] = [];
  const spawn = (): HostChild => {
    const proc = fork(entry, [], {
      cwd: dataDir,
      env: hostEnv(dataDir, env),
      execArgv: entry.endsWith('.ts') ? ['--import', TSX_LOADER] : [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let err = '';
    proc.stderr?.on('data', (d) => {
      err += String(d);
    });
    const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    children.push({ proc, exit, stderr: () => err });
    return {
      send: (message) => {
        if (proc.connected) proc.send(message);
      },
      onMessage: (handler) => proc.on('message', (m) => handler(m as FromHost)),
      onExit: (handler) => {
        void exit.then(handler);
      },
      kill: () => proc.kill('SIGKILL'),
    };
  };
  return { host: new HostClient({ ...options, spawn }), children };
}
