/** `marketdesk serve`: the workstation plus the UI and control API on 127.0.0.1, until SIGINT/SIGTERM. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from '../../platform';
import { publishInstance, startControlServer } from '../../server';
import { type CliCommand, parseCommandArgs, UsageError } from '../command';
import { openWorkstation } from '../runtime';

/** An access token given with --token: shorter ones are guessable. */
const MIN_TOKEN_LENGTH = 16;

export const RENDERER_DIR = join(appRoot(), 'out', 'renderer');

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Run headless and serve the UI in a browser',
  usage: `marketdesk serve [--demo] [--port N] [--data-dir DIR] [--token T]

  --demo           run against the built-in simulated IB Gateway (no IBKR account needed)
  --port N         control API / UI port (default SERVE_PORT, 7420; 0 picks a free one)
  --data-dir DIR   where the stores live (default DATA_DIR)
  --token T        use this access token instead of a random one`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      demo: { type: 'boolean', default: false },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      token: { type: 'string' },
    });
    if (values.token !== undefined && values.token.length < MIN_TOKEN_LENGTH)
      throw new UsageError(`--token must be at least ${MIN_TOKEN_LENGTH} characters: it is all that guards the control API`);
    const overrides: Record<string, unknown> = {};
    if (values.port !== undefined) overrides.SERVE_PORT = values.port;
    if (values['data-dir'] !== undefined) overrides.DATA_DIR = values['data-dir'];

    const workstation = await openWorkstation({ mode: 'serve', demo: values.demo, overrides });
    await workstation.start();
    const server = await startControlServer({
      dispatcher: workstation.dispatcher,
      events: workstation.events,
      logger: workstation.logger.child({ component: 'server' }),
      port: workstation.settings.get().SERVE_PORT,
      token: values.token,
      staticDir: existsSync(RENDERER_DIR) ? RENDERER_DIR : undefined,
    }).catch(async (err: unknown) => {
      await workstation.stop();
      throw err;
    });
    // CLI commands started while this runs (`marketdesk run`, `runs …`) find it here and ask it.
    const unpublish = publishInstance(workstation.dataDir, { url: server.url, token: server.token, mode: 'serve' });
    process.stdout.write(`Marketdesk ${values.demo ? '(demo) ' : ''}is listening on ${server.url}\n`);
    process.stdout.write(`Open ${server.openUrl}\n`);
    process.stdout.write(`Data folder: ${workstation.dataDir}\n`);

    await new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        process.stdout.write(`\n${signal} received, stopping…\n`);
        resolve();
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
    unpublish();
    await server.close();
    await workstation.stop();
    process.stdout.write('Stopped cleanly.\n');
    return 0;
  },
};
