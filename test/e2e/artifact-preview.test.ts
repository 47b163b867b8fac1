/** A large Parquet artifact on the Artifacts page: "Load all" keeps the page responsive and says what it left out. */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

const TOTAL_ROWS = 120_000;

/** A finished run holding a transformed.parquet as wide as the pipeline's (17 columns) and longer than the cap. */
async function runWithLargeParquet(app: ServedApp): Promise<string> {
  const { tracker, artifacts } = app.ws.runs;
  const runId = tracker.startRun({ workflow: 'daily-bars', trigger: 'manual', params: { symbols: ['BIG'] }, tags: {} });
  const extra = Array.from({ length: 15 }, (_, k) => `i * ${k + 1} + 0.25 AS c${k + 1}`).join(', ');
  const record = await artifacts.write(runId, 'transformed.parquet', 'parquet', {
    writeTo: (path) =>
      app.ws.stores.warehouse.run(
        `COPY (SELECT i AS row_no, 'BIG' AS symbol, ${extra} FROM range(${TOTAL_ROWS}) t(i) ORDER BY i)
         TO '${path.replace(/'/g, "''")}' (FORMAT parquet)`,
      ),
  });
  expect(record?.status).toBe('stored');
  tracker.finishRun(runId, 'succeeded');
  return runId;
}

describe('Artifact preview of a large file', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('loads 100,000 rows without freezing the page, renders only the visible rows and says how many it left out', async () => {
    app = await startServedApp({ path: 'artifacts' });
    const { page } = app;
    await runWithLargeParquet(app);
    await page.waitForSelector('[data-testid="page-artifacts"]');
    await page.locator('[data-testid="artifact-row"][data-name="transformed.parquet"]').click();
    await page.waitForSelector('[data-testid="artifact-table"] tbody tr');
    expect(await page.locator('[data-testid="artifact-rows-note"]').textContent()).toBe('first 100 of 120,000 rows');

    await page.click('[data-testid="artifact-load-all"]');
    const note = page.locator('[data-testid="artifact-rows-note"]');
    await expect.poll(() => note.textContent(), { timeout: 30_000 }).toBe('showing 100,000 of 120,000 rows');
    // Nothing more to load: the cap is said, not offered again as "Load all".
    expect(await page.locator('[data-testid="artifact-load-all"]').count()).toBe(0);

    // The page holds a window of rows, not 100,000 of them: that is what keeps it from freezing (timed checks
    // belong in the bench, not here).
    const rendered = () => page.locator('[data-testid="artifact-table"] tbody tr[data-row]').count();
    expect(await rendered()).toBeGreaterThan(5);
    expect(await rendered()).toBeLessThan(200);

    // Scrolling reaches the last loaded row, still with a small window, and the header stays.
    const scroller = page.locator('[data-testid="artifact-scroll"]');
    const firstCellOfLastRow = () =>
      page.locator('[data-testid="artifact-table"] tbody tr[data-row]').last().locator('td').first().textContent();
    await scroller.evaluate((el) => {
      el.scrollTop = el.scrollHeight / 2;
    });
    await expect.poll(firstCellOfLastRow).not.toBe('99999');
    await scroller.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await expect.poll(firstCellOfLastRow).toBe('99999');
    expect(await rendered()).toBeLessThan(200);
    expect(await page.locator('[data-testid="artifact-table"] thead th').first().isVisible()).toBe(true);
    await app.screenshot('artifact-load-all');
    expect(app.pageErrors.filter((e) => !/frame-ancestors/.test(e))).toEqual([]);
  });
});
