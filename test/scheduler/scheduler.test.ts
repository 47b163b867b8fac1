import { afterEach, describe, expect, it } from 'vitest';
import { callOrThrow, type EventName } from '../../core/api';
import { ManualClock } from '../../core/platform';
import { nextRunTimes } from '../../core/scheduler';
import { eventually } from '../pipeline/support';
import { removeDir, tempDir } from '../support/temp';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

// Monday 5 January 2026, 14:30 UTC = 09:30 in New York.
const MONDAY = Date.UTC(2026, 0, 5, 14, 30);
const MIN = 60_000;

const open: TestWorkstation[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.ws.stop();
  for (const d of dirs.splice(0)) removeDir(d);
});

async function openScheduled(clock: ManualClock, dataDir: string, env: Record<string, string> = {}) {
  const t = await openTestWorkstation({ DEBUG_MODE: 'true', ...env }, { clock, dataDir, start: false });
  const events: { name: EventName; payload: unknown }[] = [];
  t.ws.events.subscribe((name, payload) => events.push({ name, payload }));
  await t.ws.start();
  open.push(t);
  return { ...t, events };
}

function newDir(): string {
  const d = tempDir('marketdesk-sched-');
  dirs.push(d);
  return d;
}

describe('the workflow schedule', () => {
  it('shows the next run times in the schedule time zone', async () => {
    const t = await openScheduled(new ManualClock(MONDAY), newDir());
    const status = await callOrThrow(t.ws.dispatcher, 'scheduler.status', {});
    expect(status).toMatchObject({
      expression: '0 9 * * 1-5',
      timezone: 'America/New_York',
      paused: false,
      active: true,
      engine: 'clock',
    });
    // 09:00 New York is 14:00 UTC in winter; Saturday and Sunday are skipped.
    expect(status.nextRuns).toEqual([
      '2026-01-06T14:00:00.000Z',
      '2026-01-07T14:00:00.000Z',
      '2026-01-08T14:00:00.000Z',
      '2026-01-09T14:00:00.000Z',
      '2026-01-12T14:00:00.000Z',
    ]);
    expect(nextRunTimes('30 16 * * *', 'Europe/London', Date.UTC(2026, 6, 1), 1)).toEqual([Date.UTC(2026, 6, 1, 15, 30)]);
  });

  it('refuses an invalid expression with a message and keeps the old one', async () => {
    const t = await openScheduled(new ManualClock(MONDAY), newDir());
    await expect(callOrThrow(t.ws.dispatcher, 'scheduler.setSchedule', { expression: '99 * * * *' })).rejects.toMatchObject({
      code: 'BAD_SCHEDULE',
      message: expect.stringMatching(/Schedule "99 \* \* \* \*" refused: not a valid cron expression/),
    });
    await expect(callOrThrow(t.ws.dispatcher, 'scheduler.setSchedule', { expression: '0 9 * *' })).rejects.toMatchObject({
      message: expect.stringContaining('expected 5 cron fields'),
    });
    await expect(
      callOrThrow(t.ws.dispatcher, 'scheduler.setSchedule', { expression: '0 9 * * *', timezone: 'Mars/Olympus' }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('not an IANA time zone'),
    });
    await expect(callOrThrow(t.ws.dispatcher, 'scheduler.preview', { expression: 'every day' })).rejects.toMatchObject({
      code: 'BAD_SCHEDULE',
    });
    await expect(
      callOrThrow(t.ws.dispatcher, 'scheduler.preview', { expression: '0 9 * * 1-5', timezone: 'Mars/Olympus' }),
    ).rejects.toMatchObject({ code: 'BAD_SCHEDULE', status: 400, message: expect.stringContaining('"Mars/Olympus"') });
    expect(t.ws.settings.get().WORKFLOW_SCHEDULE).toBe('0 9 * * 1-5');
  });

  it('refuses what node-cron cannot fire (Jenkins/Quartz H, L, W, #, ?) before saving it, for every schedule', async () => {
    const t = await openScheduled(new ManualClock(MONDAY), newDir());
    const cases: [string, RegExp][] = [
      ['H 9 * * *', /the minute field "H" may hold only numbers/],
      ['0 9 L * *', /the day of month field "L"/],
      ['0 9 15W * *', /the day of month field "15W"/],
      ['0 9 * * 1#2', /the weekday field "1#2"/],
      ['0 9 ? * *', /the day of month field "\?"/],
    ];
    for (const [expression, message] of cases) {
      await expect(callOrThrow(t.ws.dispatcher, 'scheduler.setSchedule', { expression })).rejects.toMatchObject({
        status: 400,
        message,
      });
      await expect(
        callOrThrow(t.ws.dispatcher, 'settings.update', { values: { BACKUP_SCHEDULE: expression } }),
      ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('BACKUP_SCHEDULE') });
    }
    expect(t.ws.settings.get()).toMatchObject({ WORKFLOW_SCHEDULE: '0 9 * * 1-5', BACKUP_SCHEDULE: '0 3 * * *' });
    // What node-cron does fire stays accepted: names, steps, ranges, lists.
    const ok = await callOrThrow(t.ws.dispatcher, 'scheduler.setSchedule', { expression: '*/15 9-16 1,15 jan-dec mon-fri' });
    expect(ok.expression).toBe('*/15 9-16 1,15 jan-dec mon-fri');
    expect(ok.nextRuns.length).toBeGreaterThan(0);
  });

  it('shows no run on a day the spring-forward skips its time, as node-cron fires it', async () => {
    const t = await openScheduled(new ManualClock(Date.parse('2027-03-12T12:00:00Z')), newDir());
    const { times } = await callOrThrow(t.ws.dispatcher, 'scheduler.preview', {
      expression: '30 2 * * *',
      timezone: 'America/New_York',
      count: 3,
    });
    // 2027-03-14 02:30 does not exist in New York (clocks go from 02:00 to 03:00): that day has no run.
    expect(times).toEqual(['2027-03-13T07:30:00.000Z', '2027-03-15T06:30:00.000Z', '2027-03-16T06:30:00.000Z']);
  });

  it('fires a scheduled run on time, and stops firing while paused', async () => {
    const clock = new ManualClock(MONDAY);
    const t = await openScheduled(clock, newDir());
    const status = await callOrThrow(t.ws.dispatcher, 'scheduler.setSchedule', { expression: '*/5 * * * *' });
    expect(status.nextRuns[0]).toBe('2026-01-05T14:35:00.000Z');
    expect(t.ws.settings.get().WORKFLOW_SCHEDULE).toBe('*/5 * * * *');

    await clock.advance(4 * MIN);
    expect(t.ws.runs.tracker.list().total).toBe(0);
    await clock.advance(1 * MIN);
    const first = await eventually(() => t.ws.runs.tracker.list().runs[0], 5_000, 'a scheduled run');
    expect(first.trigger).toBe('scheduled');
    await t.ws.runs.pipeline.idle();
    expect(t.events.some((e) => e.name === 'scheduler.updated')).toBe(true);
    expect((await callOrThrow(t.ws.dispatcher, 'scheduler.status', {})).lastResult).toMatchObject({
      outcome: 'started',
      runId: first.id,
    });

    const paused = await callOrThrow(t.ws.dispatcher, 'scheduler.pause', {});
    expect(paused).toMatchObject({ paused: true, active: false, nextRuns: [] });
    expect(t.ws.settings.get().WORKFLOW_PAUSED).toBe(true);
    await clock.advance(30 * MIN);
    await new Promise((r) => setImmediate(r));
    expect(t.ws.runs.tracker.list().total).toBe(1);

    // A manual trigger always works, paused or not.
    expect((await t.ws.runs.pipeline.trigger({ debug: true }).done).runId).toBeTruthy();
    expect(t.ws.runs.tracker.list().runs[0].trigger).toBe('manual');

    const resumed = await callOrThrow(t.ws.dispatcher, 'scheduler.resume', {});
    expect(resumed.paused).toBe(false);
    await clock.advance(5 * MIN);
    await eventually(() => t.ws.runs.tracker.list().total === 3, 5_000, 'the next scheduled run');
    await t.ws.runs.pipeline.idle();
  });

  it('refuses a scheduled fire while a run is in progress, and says so', async () => {
    const clock = new ManualClock(MONDAY);
    const t = await openScheduled(clock, newDir());
    await callOrThrow(t.ws.dispatcher, 'scheduler.setSchedule', { expression: '*/5 * * * *' });
    const manual = t.ws.runs.pipeline.trigger({ debug: true });
    await clock.advance(5 * MIN);
    await manual.done;
    const status = await callOrThrow(t.ws.dispatcher, 'scheduler.status', {});
    expect(status.lastResult).toMatchObject({ outcome: 'refused', message: expect.stringContaining(manual.runId) });
    expect(
      t.events.some((e) => e.name === 'system.notice' && (e.payload as { title: string }).title === 'Scheduled run not started'),
    ).toBe(true);
    // After a restart the outcome is still there, like the time of the fire.
    await t.ws.stop();
    const again = await openScheduled(clock, t.ws.dataDir);
    const restored = await callOrThrow(again.ws.dispatcher, 'scheduler.status', {});
    expect(restored.lastFireAt).toBe(status.lastFireAt);
    expect(restored.lastResult).toEqual(status.lastResult);
  });

  it('arms node-cron with the real clock in serve mode and disarms it on stop', async () => {
    const t = await openTestWorkstation(
      { DEBUG_MODE: 'true', WORKFLOW_SCHEDULE: '30 16 * * 1-5' },
      { mode: 'serve', dataDir: newDir() },
    );
    open.push(t);
    const status = await callOrThrow(t.ws.dispatcher, 'scheduler.status', {});
    expect(status).toMatchObject({ engine: 'node-cron', active: true, paused: false });
    expect(Date.parse(status.nextRuns[0])).toBeGreaterThan(Date.now());
    const { getTasks } = await import('node-cron');
    expect([...getTasks().values()].some((task) => task.name === 'workflow:daily-bars')).toBe(true);
    await t.ws.stop();
    open.splice(open.indexOf(t), 1);
    expect([...getTasks().values()].some((task) => task.name === 'workflow:daily-bars')).toBe(false);
  });

  it('skips a scheduled fire on an NYSE holiday and says so; next runs and missed runs leave holidays out', async () => {
    // Wednesday 23 December 2026, 15:00 UTC; Friday the 25th is Christmas (market closed), Thursday an early close.
    const clock = new ManualClock(Date.UTC(2026, 11, 23, 15, 0));
    const t = await openScheduled(clock, newDir());
    const status = await callOrThrow(t.ws.dispatcher, 'scheduler.status', {});
    expect(status.skipsHolidays).toBe(true);
    expect(status.nextRuns).toEqual([
      '2026-12-24T14:00:00.000Z',
      '2026-12-28T14:00:00.000Z',
      '2026-12-29T14:00:00.000Z',
      '2026-12-30T14:00:00.000Z',
      '2026-12-31T14:00:00.000Z',
    ]);
    const preview = await callOrThrow(t.ws.dispatcher, 'scheduler.preview', { expression: '0 9 * * *', count: 3 });
    expect(preview.times).toEqual(['2026-12-24T14:00:00.000Z', '2026-12-26T14:00:00.000Z', '2026-12-27T14:00:00.000Z']);

    // Every day at 09:00 New York: Thursday runs, Friday (Christmas) is skipped and shown as such.
    await callOrThrow(t.ws.dispatcher, 'scheduler.setSchedule', { expression: '0 9 * * *' });
    await clock.advance(23 * 60 * MIN);
    const thursday = await eventually(() => t.ws.runs.tracker.list().runs[0], 5_000, 'Thursday run');
    expect(thursday.trigger).toBe('scheduled');
    await t.ws.runs.pipeline.idle();
    t.events.length = 0;
    await clock.advance(24 * 60 * MIN);
    await eventually(() => t.events.some((e) => e.name === 'scheduler.updated'), 5_000, 'the Friday fire');
    const friday = await callOrThrow(t.ws.dispatcher, 'scheduler.status', {});
    expect(friday.lastFireAt).toBe('2026-12-25T14:00:00.000Z');
    expect(friday.lastResult).toMatchObject({
      outcome: 'skipped',
      runId: null,
      message: expect.stringContaining('2026-12-25 is an NYSE holiday'),
    });
    expect(t.ws.runs.tracker.list().total).toBe(1);
    expect(t.events.some((e) => e.name === 'system.notice')).toBe(false);

    // Turned off, the holiday fires like any day; a restart after the holidays reports only real misses.
    t.ws.settings.update({ WORKFLOW_SKIP_HOLIDAYS: false, WORKFLOW_SCHEDULE: '0 9 * * 1-5' });
    expect((await callOrThrow(t.ws.dispatcher, 'scheduler.status', {})).skipsHolidays).toBe(false);
    expect(nextRunTimes('0 9 * * 1-5', 'America/New_York', Date.UTC(2026, 11, 31, 15), 1, { skipHolidays: false })).toEqual([
      Date.UTC(2027, 0, 1, 14),
    ]);
    t.ws.settings.update({ WORKFLOW_SKIP_HOLIDAYS: true });
    await t.ws.stop();
    open.splice(open.indexOf(t), 1);
    // Reopened on Monday 4 January 2027 at 15:00 UTC: 28-31 December were missed, New Year's Day was a holiday.
    const later = await openScheduled(new ManualClock(Date.UTC(2027, 0, 4, 15, 0)), t.ws.dataDir);
    const after = await callOrThrow(later.ws.dispatcher, 'scheduler.status', {});
    expect(after.missed.map((m) => m.expectedAt.slice(0, 10)).sort()).toEqual([
      '2026-12-28',
      '2026-12-29',
      '2026-12-30',
      '2026-12-31',
      '2027-01-04',
    ]);
  });

  it('reports runs missed while the app was closed instead of running them', async () => {
    const dataDir = newDir();
    const first = await openScheduled(new ManualClock(MONDAY), dataDir);
    await first.ws.stop();
    open.splice(open.indexOf(first), 1);

    // Reopened on Thursday at 15:00 UTC: Tuesday, Wednesday and Thursday 09:00 New York were missed.
    const later = await openScheduled(new ManualClock(Date.UTC(2026, 0, 8, 15, 0)), dataDir);
    const status = await callOrThrow(later.ws.dispatcher, 'scheduler.status', {});
    expect(status.missed.map((m) => m.expectedAt).sort()).toEqual([
      '2026-01-06T14:00:00.000Z',
      '2026-01-07T14:00:00.000Z',
      '2026-01-08T14:00:00.000Z',
    ]);
    const notice = later.events.find((e) => e.name === 'system.notice')?.payload as { title: string; message: string };
    expect(notice.title).toBe('Scheduled run missed');
    expect(notice.message).toMatch(/3 scheduled runs .* were missed while Marketdesk was closed; none were run/);
    expect(later.ws.runs.tracker.list().total).toBe(0);
    expect(status.nextRuns[0]).toBe('2026-01-09T14:00:00.000Z');
  });
});
