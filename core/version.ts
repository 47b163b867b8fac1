/** The app's name and version, read once from package.json. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from './platform/app-root';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(appRoot(), 'package.json'), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return '0.0.0';
  }
}

export const APP_NAME = 'Marketdesk';
export const APP_VERSION = readVersion();
