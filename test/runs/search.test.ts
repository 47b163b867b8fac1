import { afterEach, describe, expect, it } from 'vitest';
import { callOrThrow } from '../../core/api';
import { parseRunSearch } from '../../core/runs';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

describe('the runs search box', () => {
  it('parses MLflow-style conditions joined with AND', () => {
    expect(
      parseRunSearch('params.symbols = "TSLA" and metrics.rows > 100 AND tags.debug_mode = \'true\' AND status = "failed"'),
    ).toEqual({
      conditions: [
        { scope: 'params', key: 'symbols', op: '=', value: 'TSLA' },
        { scope: 'metrics', key: 'rows', op: '>', value: 100 },
        { scope: 'tags', key: 'debug_mode', op: '=', value: 'true' },
        { scope: 'attr', key: 'status', op: '=', value: 'failed' },
      ],
    });
    expect(parseRunSearch('metrics.`rows.NVDA` >= 1.5e2').conditions[0]).toEqual({
      scope: 'metrics',
      key: 'rows.NVDA',
      op: '>=',
      value: 150,
    });
    expect(parseRunSearch('  ').conditions).toEqual([]);
  });

  it('explains bad syntax with the position', () => {
    expect(() => parseRunSearch('params.symbols = ')).toThrow(/expected a quoted value or a number after = \(at character 18\)/);
    expect(() => parseRunSearch('params.symbols "TSLA"')).toThrow(/expected an operator/);
    expect(() => parseRunSearch('status = "failed" OR status = "cancelled"')).toThrow(/OR is not supported/);
    expect(() => parseRunSearch('colour = "red"')).toThrow(/unknown field "colour"/);
    // Names every object has are not fields either.
    expect(() => parseRunSearch('constructor = "x"')).toThrow(/unknown field "constructor"/);
    expect(() => parseRunSearch('__proto__ = "x"')).toThrow(/unknown field "__proto__"/);
    expect(() => parseRunSearch('params.symbols = "TSLA')).toThrow(/unterminated string/);
    expect(() => parseRunSearch('metrics.rows > "many"')).toThrow(/metrics compare with numbers/);
    expect(() => parseRunSearch('status = "failed" AND')).toThrow(/expected a condition after AND/);
    expect(() => parseRunSearch('status = "failed" status = "running"')).toThrow(/expected AND between conditions/);
  });
});

describe('searching the run history', () => {
  let t: TestWorkstation | null = null;
  afterEach(async () => {
    await t?.dispose();
    t = null;
  });

  it('finds runs by params (array members), tags, metrics and status', async () => {
    t = await openTestWorkstation();
    const tracker = t.ws.runs.tracker;
    const a = tracker.startRun({
      workflow: 'daily-bars',
      trigger: 'manual',
      params: { symbols: ['NVDA', 'TSLA'], days: 30, debug: false, from: '2025-06-02T00:00:00.000Z' },
      tags: { debug_mode: 'false' },
    });
    tracker.metrics(a, { rows: 420 });
    tracker.finishRun(a, 'succeeded');
    const b = tracker.startRun({
      workflow: 'daily-bars',
      trigger: 'scheduled',
      params: { symbols: ['AAPL'], days: 5, debug: true, from: '2025-05-01T00:00:00.000Z' },
      tags: { debug_mode: 'true' },
    });
    tracker.metrics(b, { rows: 50 });
    tracker.finishRun(b, 'failed', 'boom');
    const c = tracker.startRun({
      workflow: 'daily-bars',
      trigger: 'manual',
      params: { symbols: ['TSLA'] },
      tags: { debug_mode: 'true' },
    });
    tracker.metrics(c, { rows: 10 });
    tracker.metrics(c, { rows: 900 }, 1);
    tracker.finishRun(c, 'succeeded');

    // A run is found by the random tail of its id, as copied from a table; a part shared by several is refused.
    expect(tracker.get(a.slice(-6)).id).toBe(a);
    const shared = await t.ws.dispatcher.call('runs.get', { runId: a.slice(0, 8) });
    expect(shared.ok ? null : [shared.error.status, shared.error.message]).toEqual([
      400,
      expect.stringMatching(/matches several runs .*: give more of the id/),
    ]);
    expect(() => tracker.get('zzzzzz')).toThrow(/zzzzzz/);

    const ids = async (search: string) =>
      (await callOrThrow(t!.ws.dispatcher, 'runs.list', { search })).runs.map((r) => r.id).sort();
    expect(await ids('params.symbols = "TSLA"')).toEqual([a, c].sort());
    expect(await ids('metrics.rows > 100')).toEqual([a, c].sort());
    expect(await ids('tags.debug_mode = "true"')).toEqual([b, c].sort());
    expect(await ids('status = "failed"')).toEqual([b]);
    expect(await ids('params.symbols = "TSLA" AND tags.debug_mode = "true" AND metrics.rows > 100')).toEqual([c]);
    expect(await ids('params.days <= 5')).toEqual([b]);
    expect(await ids('trigger = "scheduled"')).toEqual([b]);
    expect(await ids('params.symbols != "TSLA"')).toEqual([b]);
    // Typed the way it comes to mind: text compares without regard to case.
    expect(await ids('params.symbols = "tsla"')).toEqual([a, c].sort());
    expect(await ids('params.symbols != "tsla"')).toEqual([b]);
    expect(await ids('params.symbols LIKE "NV%"')).toEqual([a]);
    // Booleans and dates compare the way they are written in the box.
    expect(await ids('params.debug = "false"')).toEqual([a]);
    expect(await ids('params.debug = "true"')).toEqual([b]);
    expect(await ids('params.from = "2025-06-02"')).toEqual([a]);
    expect(await ids('params.from < "2025-06-01"')).toEqual([b]);
    const day = tracker.get(a).startedAt.slice(0, 10);
    expect(await ids(`started = "${day}"`)).toContain(a);
    expect(await ids('started < "2000-01-01"')).toEqual([]);
    for (const [search, message] of [
      ['status = "bogus"', 'status is one of "running", "succeeded"'],
      ['trigger = "cron"', 'trigger is one of "manual", "scheduled", "replay"'],
      ['started > "yesterday"', 'started compares with a date'],
    ]) {
      await expect(callOrThrow(t.ws.dispatcher, 'runs.list', { search })).rejects.toMatchObject({
        code: 'BAD_SEARCH',
        message: expect.stringContaining(message),
      });
    }
    await expect(callOrThrow(t.ws.dispatcher, 'runs.list', { search: 'params.symbols ~ "x"' })).rejects.toMatchObject({
      code: 'BAD_SEARCH',
      message: expect.stringContaining('unexpected character "~"'),
    });
  });
});
