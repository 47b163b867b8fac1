/** What a `marketdesk` subcommand looks like, and the shared way to fail with a usage message. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { AppError } from '../platform';

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends AppError {
  constructor(message: string) {
    super('USAGE', message, { status: 2 });
  }
}

/** node:util parseArgs with errors rewritten to name the bad argument. */
export function parseCommandArgs<T extends ParseArgsConfig['options']>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}
