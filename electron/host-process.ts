/** Forks the core host as an Electron utilityProcess; the supervision itself is core's HostClient. */
import { utilityProcess } from 'electron';
import type { FromHost } from '../core/api/port-protocol';
import { HostClient } from '../core/desktop';

export interface CoreHostOptions {
  /** Built host entry (out/main/host.js). */
  entry: string;
  /** Environment for each (re)start: secrets are decrypted into it at fork time. */
  env(): NodeJS.ProcessEnv;
}

export function createCoreHost(options: CoreHostOptions): HostClient {
  return new HostClient({
    spawn() {
      const child = utilityProcess.fork(options.entry, [], {
        env: options.env(),
        serviceName: 'Marketdesk core',
        stdio: 'inherit',
      });
      return {
        send: (message) => child.postMessage(message),
        onMessage: (handler) => child.on('message', (message: FromHost) => handler(message)),
        onExit: (handler) => child.once('exit', (code: number) => handler(code)),
        kill: () => child.kill(),
      };
    },
  });
}
