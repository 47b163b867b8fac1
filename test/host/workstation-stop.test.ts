import { describe, expect, it } from 'vitest';
import { openTestWorkstation } from '../support/workstation';

describe('stopping a workstation', () => {
  it('names a service that was slow to stop, and still stops the ones after it', async () => {
    const t = await openTestWorkstation({}, { start: false });
    const stopped: string[] = [];
    t.ws.addService({ name: 'first', stop: async () => void stopped.push('first') });
    t.ws.addService({
      name: 'sluggish',
      stop: () => new Promise<void>((resolve) => setTimeout(() => resolve(void stopped.push('sluggish')), 1_200)),
    });
    t.ws.addService({ name: 'quick', stop: async () => void stopped.push('quick') });
    await t.ws.start();
    await t.dispose();
    expect(stopped).toEqual(['quick', 'sluggish', 'first']);
    const slow = t.logs.filter((r) => r.msg === 'service was slow to stop');
    expect(slow.map((r) => r.service)).toEqual(['sluggish']);
    expect(slow[0].tookMs).toBeGreaterThanOrEqual(1_100);
    expect(t.logs.some((r) => r.msg === 'workstation stopped')).toBe(true);
  });
});
