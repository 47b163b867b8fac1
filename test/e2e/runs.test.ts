/** The Runs and Artifacts pages in `serve --demo`: trigger a run, watch it finish, read its detail and logs. */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

describe('Runs page (demo gateway)', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('triggers a run, follows it live to the end, and shows its tasks, logs, metrics and artifacts', async () => {
    app = await startServedApp({ demo: true, env: { CACHE_SYMBOLS: 'NVDA,TSLA' }, path: 'runs' });
    const { page } = app;
    await page.waitForSelector('[data-testid="page-runs"]');
    await page.waitForSelector('[data-testid="scheduler-card"] [data-testid="next-runs"] li');

    await page.click('[data-testid="trigger-run"]');
    const row = page.locator('[data-testid="run-row"]').first();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('succeeded');
    const runId = (await row.getAttribute('data-run-id')) as string;
    expect(runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{6}$/);

    // The detail of the new run is open, every task green in the grid and on the timeline.
    await page.waitForSelector(`[data-testid="run-detail"][data-run-id="${runId}"]`);
    await expect
      .poll(() => page.locator('[data-testid="run-detail"] [data-testid="run-status"]').textContent())
      .toBe('succeeded');
    const cells = page.locator('[data-testid="grid-row"]').first().locator('[data-state]');
    expect(await cells.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).toEqual(Array(5).fill('succeeded'));
    expect(await page.locator('[data-testid="task-timeline"] .timeline-row').count()).toBe(5);
    expect(Number(await page.locator('[data-testid="metric-rows"]').textContent())).toBeGreaterThan(10);
    // Durations in the pipeline's order, each task named on the axis.
    const durationTasks = () =>
      page.locator('[data-testid="duration-chart"] text.recharts-cartesian-axis-tick-value').evaluateAll((els) =>
        els
          .filter((el) => /^[a-z]/.test(el.textContent ?? ''))
          .sort((a, b) => a.getBoundingClientRect().x - b.getBoundingClientRect().x)
          .map((el) => el.textContent),
      );
    await expect.poll(durationTasks).toEqual(['preflight', 'extract', 'validate', 'transform', 'record']);
    await page.locator('[data-testid="task-timeline"]').scrollIntoViewIfNeeded();
    await app.screenshot('runs-detail-top');

    // Logs: one section per task, JSON fields pretty-printed, a search over every line.
    await page.waitForSelector('[data-testid="log-section-extract"]');
    const fields = page.locator('[data-testid="log-section-extract"] [data-testid="log-fields"]').first();
    expect(await fields.textContent()).toMatch(/"lineage": \{/);
    expect(await page.locator('[data-testid="log-viewer"]').textContent()).not.toContain('[object Object]');
    await page.fill('[data-testid="log-search"]', 'rowsFromIbkr');
    await expect.poll(() => page.locator('[data-testid="log-line"]').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('[data-testid="log-line"] mark').first().textContent()).toBe('rowsFromIbkr');
    await page.fill('[data-testid="log-search"]', '');
    await page.click('[data-testid="attempt-tab-transform-1"]');
    const transformLines = await page.locator('[data-testid="log-line"]').count();
    expect(transformLines).toBeGreaterThan(0);
    const counted = transformLines === 1 ? '1 entry' : `${transformLines} entries`;
    expect(await page.locator('[data-testid="log-section-toggle-transform"]').textContent()).toContain(counted);
    expect(await page.locator('[data-testid="log-section-extract"]').count()).toBe(0);
    await page.click('[data-testid="attempt-tab-all"]');

    // The Parquet artifact previews as a table through DuckDB.
    await page.click('[data-testid="preview-transformed.parquet"]');
    await page.waitForSelector('[data-testid="artifact-table"] tbody tr');
    expect(await page.locator('[data-testid="artifact-table"] th').allTextContents()).toContain('rsi_14');
    await page.locator('[data-testid="run-detail"]').scrollIntoViewIfNeeded();
    await app.screenshot('runs-detail');

    // Re-run in debug mode, then compare both runs and keep only the differences.
    await page.click('[data-testid="rerun-debug"]');
    await expect
      .poll(async () => page.locator('[data-testid="run-row"][data-status="succeeded"]').count(), { timeout: 30_000 })
      .toBe(2);
    expect(await page.locator('[data-testid="run-row"]').first().textContent()).toContain('DEBUG MODE');
    await page.locator('[data-testid="compare-check"]').nth(0).check();
    await page.locator('[data-testid="compare-check"]').nth(1).check();
    await page.click('[data-testid="compare-runs"]');
    await page.waitForSelector('[data-testid="compare-view"]');
    expect(await page.locator('[data-testid="compare-verdict"]').textContent()).toBe('same rows and checksums');
    const allRows = await page.locator('[data-testid="compare-row"]').count();
    await page.check('[data-testid="compare-only-diff"]');
    const diffRows = await page.locator('[data-testid="compare-row"]').count();
    expect(diffRows).toBeGreaterThan(0);
    expect(diffRows).toBeLessThan(allRows);
    expect(await page.locator('[data-testid="compare-view"]').textContent()).toContain('debug_mode');
    // The same metric reads the same as in the run detail: the cache hit rate as a percentage.
    const hitRate = page.locator('[data-testid="compare-row"]', { hasText: 'cache_hit_rate' });
    await page.uncheck('[data-testid="compare-only-diff"]');
    const rates = (await hitRate.locator('td').allTextContents()).slice(2);
    expect(rates).toHaveLength(2);
    for (const rate of rates) expect(rate).toMatch(/^\d+%$/);
    // Start times read in the trader's clock, as in the run list, not as raw ISO strings.
    const startedRow = page
      .locator('[data-testid="compare-row"]')
      .filter({ has: page.locator('td:nth-child(2)', { hasText: /^started$/ }) });
    const started = (await startedRow.locator('td').allTextContents()).slice(2);
    expect(started).toHaveLength(2);
    for (const text of started) {
      expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
      expect(text).toMatch(/\d{1,2}:\d{2}/);
    }

    // The run list works from the keyboard: a row takes the focus and opens with Enter.
    const shown = await page.locator('[data-testid="run-detail"]').getAttribute('data-run-id');
    const other = page.locator(`[data-testid="run-row"]:not([data-run-id="${shown}"])`).first();
    const otherId = (await other.getAttribute('data-run-id')) as string;
    await other.focus();
    expect(await other.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`[data-testid="run-detail"][data-run-id="${otherId}"]`);

    // Search: only the debug run matches.
    await page.fill('[data-testid="runs-search"]', 'tags.debug_mode = "true"');
    await page.click('[data-testid="runs-search-submit"]');
    await expect.poll(() => page.locator('[data-testid="run-row"]').count()).toBe(1);
    await page.fill('[data-testid="runs-search"]', 'status = ');
    await page.click('[data-testid="runs-search-submit"]');
    await expect.poll(() => page.locator('[data-testid="runs-search-error"]').textContent()).toMatch(/expected a quoted value/);
    // The previous search's rows are not left standing as if they answered the bad one.
    await expect.poll(() => page.locator('[data-testid="run-row"]').count()).toBe(0);
    await app.screenshot('runs-page');

    // The global debug switch: the shell shows the DEBUG MODE badge.
    await page.click('[data-testid="debug-mode-toggle"]');
    await page.waitForSelector('[data-testid="debug-badge"]');
    expect(app.ws.settings.get().DEBUG_MODE).toBe(true);

    // The Artifacts page lists the run's files and previews the validation report as JSON.
    await page.click('[data-testid="nav-artifacts"]');
    await page.waitForSelector('[data-testid="page-artifacts"]');
    await page.locator('[data-testid="artifact-row"][data-name="validation_report.json"]').first().click();
    await page.waitForSelector('[data-testid="artifact-json"]');
    expect(await page.locator('[data-testid="artifact-json"] .json-key').first().textContent()).toBe('"passed"');
    await app.screenshot('artifacts-page');
    // The refused search answers 400 (expected); the CSP notice is the shell's meta tag.
    expect(app.pageErrors.filter((e) => !/status of 400|frame-ancestors/.test(e))).toEqual([]);
  });
});
