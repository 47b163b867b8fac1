import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { openPipelineWorkstation, type PipelineWorkstation } from './support';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let t: PipelineWorkstation | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

function settledHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('twenty runs in a row', () => {
  it('leave no growth in open handles, file descriptors or memory', async () => {
    t = await openPipelineWorkstation();
    const params = { symbols: ['NVDA', 'TSLA'], from: '2025-01-02', to: '2025-09-02' };
    const statuses: string[] = [];
    let baseline = { fds: 0, handles: 0, heap: 0 };
    for (let i = 0; i < 20; i++) {
      statuses.push((await t.ws.runs.pipeline.trigger({ ...params, debug: i % 2 === 1 }).done).status);
      if (i === 4) baseline = { fds: openFds(), handles: process.getActiveResourcesInfo().length, heap: settledHeap() };
    }
    expect(statuses).toEqual(Array(20).fill('succeeded'));
    const after = { fds: openFds(), handles: process.getActiveResourcesInfo().length, heap: settledHeap() };
    expect(after.fds).toBeLessThanOrEqual(baseline.fds + 2);
    expect(after.handles).toBeLessThanOrEqual(baseline.handles + 2);
    expect(after.heap - baseline.heap).toBeLessThan(8 * 1024 * 1024);
    expect(t.ws.runs.tracker.list({ limit: 100 }).total).toBe(20);
  }, 120_000);
});
