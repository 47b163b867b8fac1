/** A second launch of the built main bundle, while another holds the single-instance lock, quits at once. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { removeDir, tempDir } from '../support/workstation';
import { app, fake } from './fake-electron';

vi.mock('electron', async () => (await import('./fake-electron')).electronModule);

const MAIN_BUNDLE = fileURLToPath(new URL('../../out/main/main.js', import.meta.url));
const userData = tempDir('marketdesk-userdata-');
afterAll(() => removeDir(userData));

describe('the single-instance lock', () => {
  it('a second copy opens no window, starts no core and quits; the first one is focused by Electron', async () => {
    expect(existsSync(MAIN_BUNDLE), 'run `npm run build` first').toBe(true);
    fake.userData = userData;
    fake.lock = false;
    await import(MAIN_BUNDLE);
    expect(fake.quitRequests).toBe(1);
    expect(fake.quitCompleted).toBe(true);
    expect(app.listenerCount('second-instance')).toBe(0);
    expect(fake.windows).toHaveLength(0);
    expect(fake.children).toHaveLength(0);
    expect(fake.handlers.size).toBe(0);
  });
});
