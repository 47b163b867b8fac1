/**
 * The folder holding Marketdesk's package.json, found by walking up from this module: the same answer whether core
 * runs from its sources (tsx), from the CLI bundle (out/cli/main.js) or from the Electron build (out/main).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

export function appRoot(): string {
  if (root !== null) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      root = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}
