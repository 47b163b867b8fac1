/** Every `marketdesk` subcommand; later capabilities add theirs here. */
import type { CliCommand } from '../command';
import { cacheCommand } from './cache';
import { backupCommand, exportCommand, importCommand, integrityCommand } from './imports';
import { runCommand, runsCommand } from './run';
import { serveCommand } from './serve';

export const COMMANDS: CliCommand[] = [
  serveCommand,
  cacheCommand,
  runCommand,
  runsCommand,
  importCommand,
  backupCommand,
  exportCommand,
  integrityCommand,
];
