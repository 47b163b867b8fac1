import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../core/cli/commands';
import { SETTING_KEYS } from '../../core/config';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the README a new user reads', () => {
  it('gives the install, run and test commands', () => {
    expect(readme).toContain('npm install');
    expect(readme).toMatch(/npm start/);
    expect(readme).toMatch(/npm run serve/);
    expect(readme).toMatch(/npm test/);
  });

  it('documents every setting in the configuration table', () => {
    const missing = SETTING_KEYS.filter((key) => !readme.includes(`| \`${key}\` |`));
    expect(missing).toEqual([]);
  });

  it('names every marketdesk subcommand', () => {
    const missing = COMMANDS.map((c) => c.name).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
