/** `marketdesk <command>`: dispatches to a subcommand and turns errors into exit codes. */

import { dirname } from 'node:path';
import { ApiCallError } from '../api';
import { AppError, FolderError } from '../platform';
import { readInstance } from '../server';
import { UsageError } from './command';
import { COMMANDS } from './commands';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: marketdesk <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "marketdesk <command> --help" for a command\'s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`marketdesk ${name}: ${err.message}\n\nUsage: ${command.usage}\n`);
      return 2;
    }
    if (err instanceof AppError) {
      process.stderr.write(`marketdesk ${name}: ${err.message}${err.code === 'STORE_LOCKED' ? runningAppHint(err) : ''}\n`);
      return err.code === 'CONFIG_INVALID' || err.code === 'PORT_IN_USE' || err.code.startsWith('STORE_') ? 3 : 1;
    }
    if (err instanceof FolderError) {
      process.stderr.write(`marketdesk ${name}: ${err.message} (DATA_DIR / --data-dir)\n`);
      return 3;
    }
    if (err instanceof ApiCallError) {
      // Refused by the running app the command was carried out in (e.g. a run already in progress).
      const issues = err.issues.map((i) => `\n  ${i.path.join('.') || 'input'}: ${i.message}`).join('');
      process.stderr.write(`marketdesk ${name}: ${err.message}${issues}\n`);
      return 1;
    }
    process.stderr.write(`marketdesk ${name} failed: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

/** Which running Marketdesk holds the stores, when it published itself (see core/server/instance.ts). */
function runningAppHint(err: AppError): string {
  const path = (err.details as { path?: unknown } | undefined)?.path;
  if (typeof path !== 'string') return '';
  try {
    const info = readInstance(dirname(path));
    if (!info) return '';
    return `\n  Marketdesk is running (${info.mode}, pid ${info.pid}) on this data folder: use its UI${info.mode === 'serve' ? ` at ${info.url}` : ''}, or stop it first. "marketdesk run" and "marketdesk runs" work while it runs.`;
  } catch {
    return '';
  }
}
