/**
 * Entry of the core host process: `utilityProcess.fork(out/main/host.js)` in the desktop app,
 * `child_process.fork('core/host.ts', { execArgv: ['--import', 'tsx'] })` under plain Node.
 * Environment: MARKETDESK_HOST_MODE (desktop | test), MARKETDESK_DEMO=1 for the simulated gateway,
 * MARKETDESK_HOST_STDERR=1 to mirror logs to stderr; settings come from env/.env/settings file as usual.
 */
import { hostPortFromProcess, runHost } from './desktop';

const port = hostPortFromProcess();
if (!port) {
  process.stderr.write('The Marketdesk core host is started by the desktop app (utilityProcess) or child_process.fork.\n');
  process.exit(2);
}

runHost(port, {
  // Imported here, not at the top: a module that fails to load becomes a `fatal` message with its error.
  open: async () =>
    (await import('./cli/runtime')).openWorkstation({
      mode: process.env.MARKETDESK_HOST_MODE === 'test' ? 'test' : 'desktop',
      demo: process.env.MARKETDESK_DEMO === '1',
      logToStderr: process.env.MARKETDESK_HOST_STDERR === '1',
    }),
  publish: async (ws) => (await import('./server')).serveForCli(ws),
  exit: (code) => process.exit(code),
  onSignal: (signal, handler) => process.once(signal, handler),
});
