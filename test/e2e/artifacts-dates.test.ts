/** The Artifacts page's date filter speaks the trader's days, not UTC's. */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

describe('Artifacts by date', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('filters by the day in the browser’s time zone: an evening artifact in Los Angeles is that day’s, not the next UTC day’s', async () => {
    app = await startServedApp({ path: 'artifacts', timezoneId: 'America/Los_Angeles' });
    const { page, ws } = app;
    await page.waitForSelector('[data-testid="page-artifacts"]');
    const runId = ws.runs.tracker.startRun({ workflow: 'daily-bars', trigger: 'manual', params: {}, tags: {} });
    const record = await ws.runs.artifacts.write(runId, 'evening.json', 'json', {
      bytes: Buffer.from('{"note":"written at 20:30 in Los Angeles"}'),
    });
    expect(record?.status).toBe('stored');
    // 2026-03-10 03:30 UTC is 2026-03-09 20:30 in Los Angeles (PDT).
    ws.stores.journal.db
      .prepare('UPDATE run_artifacts SET created_at = ? WHERE run_id = ?')
      .run('2026-03-10T03:30:00.000Z', runId);
    ws.runs.tracker.finishRun(runId, 'succeeded');
    const row = page.locator('[data-testid="artifact-row"][data-name="evening.json"]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('3/9/2026');

    await page.fill('[data-testid="artifacts-since"]', '2026-03-09');
    await page.fill('[data-testid="artifacts-until"]', '2026-03-09');
    await expect.poll(() => page.locator('[data-testid="page-artifacts"]').textContent()).toContain('1 files');
    expect(await row.count()).toBe(1);

    await page.fill('[data-testid="artifacts-since"]', '2026-03-10');
    await page.fill('[data-testid="artifacts-until"]', '2026-03-10');
    await expect.poll(() => page.locator('[data-testid="page-artifacts"]').textContent()).toContain('0 files');
    expect(await row.count()).toBe(0);
  });
});
