/** Every `marketdesk` subcommand; later capabilities add theirs here. */
import type { CliCommand } from '../command';
import { serveCommand } from './serve';

export const COMMANDS: CliCommand[] = [serveCommand];
