/**
 * Runs that did not succeed, on the Runs page: a failed run (a symbol the gateway does not know), a cancelled
 * and an interrupted one. Each end reads as itself in the grid, tasks that never ran read as skipped, and
 * the durations follow the pipeline's order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedApp, startServedApp } from './support';

/** What the pipeline records when the user cancels during extract: the task cancelled, the rest skipped. */
function recordCancelledRun(app: ServedApp): string {
  const { tracker } = app.ws.runs;
  const runId = tracker.startRun({ workflow: 'daily-bars', trigger: 'manual', params: { symbols: ['NVDA'] }, tags: {} });
  tracker.startTask(runId, 'preflight', 1);
  tracker.finishTask(runId, 'preflight', 1, 'succeeded');
  tracker.startTask(runId, 'extract', 1);
  tracker.finishTask(runId, 'extract', 1, 'cancelled', 'cancelled by the user');
  for (const task of ['validate', 'transform', 'record']) tracker.skipTask(runId, task);
  tracker.finishRun(runId, 'cancelled', 'cancelled during extract: cancelled by the user');
  return runId;
}

/** What start-up records for a run the app died in during extract. */
function recordInterruptedRun(app: ServedApp): string {
  const { tracker } = app.ws.runs;
  const runId = tracker.startRun({ workflow: 'daily-bars', trigger: 'scheduled', params: { symbols: ['NVDA'] }, tags: {} });
  tracker.startTask(runId, 'preflight', 1);
  tracker.finishTask(runId, 'preflight', 1, 'succeeded');
  tracker.startTask(runId, 'extract', 1);
  expect(tracker.markInterrupted()).toEqual([runId]);
  return runId;
}

describe('Runs that did not succeed (demo gateway)', () => {
  let app: ServedApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('shows cancelled and interrupted apart, skipped tasks as skipped, and durations in pipeline order', async () => {
    app = await startServedApp({ demo: true, env: { CACHE_SYMBOLS: 'ZZZZ' }, path: 'runs' });
    const { page } = app;
    await page.waitForSelector('[data-testid="page-runs"]');
    const interrupted = recordInterruptedRun(app);
    const cancelled = recordCancelledRun(app);

    // A real run that fails at extract: the gateway has no contract for ZZZZ.
    await page.click('[data-testid="trigger-run"]');
    const failedRow = page.locator('[data-testid="run-row"][data-status="failed"]');
    await expect.poll(() => failedRow.count(), { timeout: 30_000 }).toBe(1);
    const failed = (await failedRow.getAttribute('data-run-id')) as string;
    await page.waitForSelector(`[data-testid="run-detail"][data-run-id="${failed}"]`);
    await expect.poll(() => page.locator(`[data-testid="grid-row"]`).count()).toBe(3);

    // The grid: a cancelled cell and an interrupted cell look different, and the legend says which is which.
    const cell = (runId: string, task: string) =>
      page.locator(`[data-testid="grid-row"][data-run-id="${runId}"] [data-testid="grid-cell-${task}"]`);
    const look = (runId: string, task: string) =>
      cell(runId, task).evaluate((el) => {
        const s = getComputedStyle(el);
        return `${s.backgroundColor} ${s.backgroundImage}`;
      });
    expect(await cell(cancelled, 'extract').getAttribute('data-state')).toBe('cancelled');
    expect(await cell(interrupted, 'extract').getAttribute('data-state')).toBe('interrupted');
    expect(await cell(cancelled, 'validate').getAttribute('data-state')).toBe('skipped');
    const looks = {
      cancelled: await look(cancelled, 'extract'),
      interrupted: await look(interrupted, 'extract'),
      failed: await look(failed, 'extract'),
      skipped: await look(failed, 'validate'),
      succeeded: await look(failed, 'preflight'),
    };
    expect(new Set(Object.values(looks)).size).toBe(5);
    const legend = page.locator('[data-testid="task-legend"]');
    for (const [state, value] of Object.entries(looks)) {
      const swatch = legend.locator(`[data-state="${state}"]`);
      expect(await swatch.textContent()).toBe(state);
      expect(
        await swatch.locator('.legend-swatch').evaluate((el) => {
          const s = getComputedStyle(el);
          return `${s.backgroundColor} ${s.backgroundImage}`;
        }),
      ).toBe(value);
    }
    await page.locator('[data-testid="task-grid"]').scrollIntoViewIfNeeded();
    await app.screenshot('runs-grid-states');

    // The failed run: tasks after extract never ran — no attempt tab, no bar, a "skipped" marker.
    const timelineRow = (task: string) => page.locator(`[data-testid="task-timeline"] .timeline-row[data-task="${task}"]`);
    const expectSkipped = async (tasks: string[]) => {
      for (const task of tasks) {
        expect(await timelineRow(task).getAttribute('data-state')).toBe('skipped');
        expect(await timelineRow(task).locator('.timeline-bar').count()).toBe(0);
        expect(await timelineRow(task).locator('[data-testid="timeline-skipped"]').textContent()).toBe('skipped');
        expect(await timelineRow(task).textContent()).not.toContain('0 ms');
        expect(await page.locator(`[data-testid="attempt-tab-${task}-1"]`).count()).toBe(0);
      }
    };
    await expectSkipped(['validate', 'transform', 'record']);
    expect(await timelineRow('extract').locator('.timeline-bar.state-failed').count()).toBe(1);
    expect(await page.locator('[data-testid="attempt-tab-extract-1"]').count()).toBe(1);

    // Its durations read in the pipeline's order, not the alphabet's.
    const durationTasks = () =>
      page.locator('[data-testid="duration-chart"] text.recharts-cartesian-axis-tick-value').evaluateAll((els) =>
        els
          .filter((el) => /^[a-z]/.test(el.textContent ?? ''))
          .sort((a, b) => a.getBoundingClientRect().x - b.getBoundingClientRect().x)
          .map((el) => el.textContent),
      );
    await expect.poll(durationTasks).toEqual(['preflight', 'extract']);
    await page.locator('[data-testid="attempt-tabs"]').scrollIntoViewIfNeeded();
    await app.screenshot('runs-failed-metrics');
    await page.locator('[data-testid="task-timeline"]').scrollIntoViewIfNeeded();
    await app.screenshot('runs-failed-detail');

    // The cancelled run: the same, with extract ending cancelled.
    await page.locator(`[data-testid="run-row"][data-run-id="${cancelled}"]`).click();
    await page.waitForSelector(`[data-testid="run-detail"][data-run-id="${cancelled}"]`);
    await expectSkipped(['validate', 'transform', 'record']);
    expect(await timelineRow('extract').locator('.timeline-bar.state-cancelled').count()).toBe(1);
    expect(await page.locator('[data-testid="attempt-tab-extract-1"]').count()).toBe(1);
    // Why it ended is said, but not in the error red a failed run gets.
    expect(await page.locator('[data-testid="run-error"]').getAttribute('class')).toBe('muted');
    await page.locator('[data-testid="task-timeline"]').scrollIntoViewIfNeeded();
    await app.screenshot('runs-cancelled-detail');
    expect(app.pageErrors.filter((e) => !/frame-ancestors/.test(e))).toEqual([]);
  });
});
