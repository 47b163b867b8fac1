/**
 * A trader imports a GEX history file from the Imports page, watches the job go to done, reads
 * its report, follows the link to the integrity report, and sees a failed import explained.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { body, type FileServer, serveFiles, snapshots } from '../imports/support';
import { type ServedApp, startServedApp } from './support';

describe('the Imports and Integrity pages in Chromium', () => {
  let app: ServedApp | undefined;
  let files: FileServer | undefined;
  afterEach(async () => {
    await app?.close();
    await files?.close();
    app = undefined;
    files = undefined;
  });

  it('imports a file by URL, shows live progress and the report, then the linked integrity report', async () => {
    const bad = snapshots({ count: 40, strikes: 30 });
    bad[7] = { ...bad[7], spot: 'n/a' };
    files = await serveFiles({
      '/SPX_full.json': body(JSON.stringify(bad)),
      '/gone.json': (_req, res) => {
        res.statusCode = 404;
        res.end();
      },
    });
    app = await startServedApp({ env: { WEBHOOK_PORT: '0', BACKUP_SCHEDULE: '' } });
    const { page } = app;
    await page.click('[data-testid="nav-imports"]');
    await page.fill('[data-testid="import-source"]', files.url('/SPX_full.json'));
    await page.click('[data-testid="import-submit"]');
    await expect.poll(() => page.locator('[data-testid="import-message"]').textContent()).toContain('Queued');
    const row = page.locator('[data-testid^="import-job-imp_"]').first();
    await expect.poll(() => row.locator('[data-testid="import-job-state"]').textContent(), { timeout: 30_000 }).toBe('done');
    await expect.poll(() => page.locator('[data-testid="import-report-records"]').textContent()).toContain('39 valid');
    expect(await page.locator('[data-testid="import-report-merged"]').textContent()).toContain('39 new snapshots');
    expect(await page.locator('[data-testid="import-report-invalid"]').textContent()).toContain('spot');
    await expect.poll(() => page.locator('[data-testid="backups-table"] tbody tr').count()).toBeGreaterThan(0);
    const shot = await app.screenshot('imports');
    expect(shot).toMatch(/\.png$/);

    await page.click('[data-testid="import-report-integrity"]');
    await page.waitForSelector('[data-testid="page-integrity"]');
    await expect.poll(() => page.locator('[data-testid="integrity-findings"]').textContent()).toContain('gaps');
    await page.locator('[data-testid^="integrity-finding-"]', { hasText: 'gaps' }).click();
    await expect.poll(() => page.locator('[data-testid="integrity-rows"]').count()).toBe(1);
    await app.screenshot('integrity');

    // A URL that 404s: the job fails with the reason in the report.
    await page.click('[data-testid="nav-imports"]');
    await page.fill('[data-testid="import-source"]', files.url('/gone.json'));
    await page.click('[data-testid="import-submit"]');
    await expect
      .poll(() => page.locator('[data-testid="import-report-error"]').textContent(), { timeout: 30_000 })
      .toContain('404');
    expect(await page.locator('[data-testid="import-retry"]').count()).toBe(1);
    await app.screenshot('imports-failed');
    expect(app.pageErrors).toEqual([]);
  });
});
