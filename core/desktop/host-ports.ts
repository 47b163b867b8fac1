/** The two message ports a core host can be reached over: Electron's parentPort, or Node's fork IPC channel. */
import type { FromHost, ToHost } from '../api/port-protocol';
import type { HostPort } from './host-runner';

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

/** How long closing waits for posted messages to leave before the process ends anyway. */
const CLOSE_FLUSH_MS = 2_000;

/** Inside an Electron utilityProcess. Messages are structured clones (typed arrays survive). */
export function parentPortHostPort(parentPort: ElectronParentPort): HostPort {
  return {
    post: (message) => parentPort.postMessage(message),
    onMessage: (handler) => parentPort.on('message', (event) => handler(event.data as ToHost)),
    // postMessage hands the message to the pipe synchronously; one turn lets it leave before exit.
    close: () => new Promise((resolve) => setTimeout(resolve, 20)),
    // Electron ends utility processes with the app; there is no disconnect to observe.
    onDisconnect: () => undefined,
  };
}

/**
 * Under `child_process.fork` (tests, and any Node supervisor). Fork with `serialization: 'advanced'`
 * so typed arrays in bulk results arrive as typed arrays.
 */
export function forkHostPort(proc: NodeJS.Process = process): HostPort {
  let inFlight = Promise.resolve();
  return {
    post(message: FromHost) {
      if (!proc.connected || !proc.send) return;
      const sent = new Promise<void>((resolve) => proc.send?.(message, undefined, undefined, () => resolve()));
      inFlight = inFlight.then(() => sent);
    },
    onMessage: (handler) => proc.on('message', (message) => handler(message as ToHost)),
    async close() {
      // A send whose callback never comes (channel torn down under it) must not keep the process alive.
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_FLUSH_MS)));
      await Promise.race([inFlight, gaveUp]);
      clearTimeout(timer);
      if (proc.connected) proc.disconnect();
    },
    onDisconnect: (handler) => proc.once('disconnect', handler),
  };
}

/** The port this process was started with, or null when it was started by hand. */
export function hostPortFromProcess(): HostPort | null {
  const parentPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (parentPort) return parentPortHostPort(parentPort);
  if (process.send) return forkHostPort(process);
  return null;
}
