import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/platform';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { BASE_ENV, call, count, fixture, fixtureJson, post, SECRET } from './support';

const auth = { authorization: `Bearer ${SECRET}` };
const HOUR = 3_600_000;

async function sendMix(t: TestWorkstation): Promise<void> {
  const trade = fixtureJson<[string, Record<string, unknown>]>('uw-option-trade.json');
  for (let i = 0; i < 25; i++) {
    const res = await post(t.ws, '/uw', JSON.stringify([trade[0], { ...trade[1], id: `trade-${i}` }]), { headers: auth });
    expect(res.status).toBe(202);
  }
  expect((await post(t.ws, '/uw', fixture('uw-flow-alert.json'), { headers: auth })).status).toBe(202);
  expect((await post(t.ws, '/gex', fixture('gexbot-classic.json'), { headers: auth })).status).toBe(202);
  expect((await post(t.ws, `/tradingview/${SECRET}`, fixture('tradingview-strategy.json'))).status).toBe(202);
}

async function tableCounts(t: TestWorkstation) {
  const out: Record<string, number> = {};
  for (const table of ['alerts', 'option_trades', 'flow_alerts', 'gex_snapshots', 'gex_strikes', 'uw_events'])
    out[table] = await count(t.ws, table);
  return out;
}

/** The inbox counts (kept in memory after the first count) against a fresh count of the journal. */
function expectCountsExact(t: TestWorkstation): void {
  const rows = t.ws.stores.journal.db.prepare('SELECT status, count(*) AS n FROM webhook_inbox GROUP BY status').all() as {
    status: string;
    n: number;
  }[];
  const fresh = { pending: 0, failed: 0, dead: 0, done: 0, ...Object.fromEntries(rows.map((r) => [r.status, r.n])) };
  expect(t.ws.webhooks.inbox.counts()).toEqual(fresh);
}

describe('the processor: inbox → warehouse tables, idempotent, replayable, with dead letters', () => {
  let t: TestWorkstation;
  beforeEach(async () => {
    t = await openTestWorkstation(BASE_ENV);
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('moves accepted events into their tables in the background and marks them done', async () => {
    await sendMix(t);
    const deadline = Date.now() + 10_000;
    while (t.ws.webhooks.inbox.counts().done < 28 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(t.ws.webhooks.inbox.counts()).toEqual({ pending: 0, failed: 0, dead: 0, done: 28 });
    expect(await tableCounts(t)).toEqual({
      alerts: 1,
      option_trades: 25,
      flow_alerts: 1,
      gex_snapshots: 1,
      gex_strikes: 4,
      uw_events: 0,
    });
    const detail = await call<{ table: string; status: string }>(t.ws, 'webhooks.event', { id: 1 });
    expect(detail).toMatchObject({ table: 'option_trades', status: 'done' });
  });

  it('replaying every stored event (e.g. after a normaliser fix) rewrites rows without duplicating them', async () => {
    await sendMix(t);
    await t.ws.webhooks.processor.drain();
    const before = await tableCounts(t);
    // Someone damaged a row; a replay restores it from the raw event.
    await t.ws.stores.warehouse.run("UPDATE option_trades SET price = -1 WHERE id = 'trade-3'");
    const ids = (t.ws.stores.journal.db.prepare('SELECT id FROM webhook_inbox').all() as { id: number }[]).map((r) => r.id);
    // The same id given twice is one event queued once.
    const { queued } = await call<{ queued: number }>(t.ws, 'webhooks.reprocess', { ids: [...ids, ids[0]] });
    expect(queued).toBe(ids.length);
    await t.ws.webhooks.processor.drain();
    expect(await tableCounts(t)).toEqual(before);
    const fixed = await t.ws.stores.warehouse.rows<{ price: number }>("SELECT price FROM option_trades WHERE id = 'trade-3'");
    expect(fixed[0].price).toBe(6.85);
    // Processing the same rows twice in a row (a crash between warehouse commit and "done") is harmless too.
    t.ws.webhooks.inbox.requeue(ids);
    await t.ws.webhooks.processor.drain();
    t.ws.webhooks.inbox.requeue(ids);
    await t.ws.webhooks.processor.drain();
    expect(await tableCounts(t)).toEqual(before);
  });

  it('a failing write is retried with backoff, then parked as a dead letter with its error, and re-processed on demand', async () => {
    await t.ws.webhooks.processor.stop();
    const wh = t.ws.stores.warehouse;
    await wh.run('ALTER TABLE flow_alerts RENAME TO flow_alerts_away');
    expectCountsExact(t); // counted once here; every change below keeps the counts without counting again
    await sendMix(t);
    // A duplicate and a conflicting resend add no row.
    const trade = fixtureJson<[string, Record<string, unknown>]>('uw-option-trade.json');
    const again = JSON.stringify([trade[0], { ...trade[1], id: 'trade-0' }]);
    expect((await post(t.ws, '/uw', again, { headers: auth })).status).toBe(200);
    const changed = JSON.stringify([trade[0], { ...trade[1], id: 'trade-0', price: '9.99' }]);
    expect((await post(t.ws, '/uw', changed, { headers: auth })).status).toBe(409);
    expectCountsExact(t);
    let now = Date.now();
    await t.ws.webhooks.processor.drain({ now });
    expect(await count(t.ws, 'option_trades')).toBe(25); // the rest of the batch is not held back
    expect(t.ws.webhooks.inbox.counts()).toMatchObject({ failed: 1, dead: 0 });
    expectCountsExact(t);
    for (let attempt = 2; attempt <= 5; attempt++) {
      now += HOUR;
      await t.ws.webhooks.processor.drain({ now });
      expectCountsExact(t);
    }
    const dead = await call<{ items: { id: number; error: string; attempts: number; topic: string }[] }>(
      t.ws,
      'webhooks.deadLetters',
      {},
    );
    expect(dead.items).toHaveLength(1);
    expect(dead.items[0]).toMatchObject({ topic: 'flow-alerts', attempts: 5 });
    expect(dead.items[0].error).toMatch(/flow_alerts/);
    const raw = await call<{ json: unknown }>(t.ws, 'webhooks.event', { id: dead.items[0].id });
    expect(raw.json).toEqual(fixtureJson('uw-flow-alert.json'));

    await wh.run('ALTER TABLE flow_alerts_away RENAME TO flow_alerts');
    expect(await call(t.ws, 'webhooks.reprocess', { allDead: true })).toEqual({ queued: 1 });
    expectCountsExact(t);
    await t.ws.webhooks.processor.drain();
    expect(await count(t.ws, 'flow_alerts')).toBe(1);
    expect(t.ws.webhooks.inbox.counts()).toEqual({ pending: 0, failed: 0, dead: 0, done: 28 });
    expectCountsExact(t);
    t.ws.webhooks.inbox.requeue([1, 2]);
    expect(t.ws.webhooks.inbox.counts()).toMatchObject({ pending: 2, done: 26 });
    await t.ws.webhooks.processor.drain();
    expectCountsExact(t);
  });
});

describe('inbox retention (WEBHOOK_INBOX_RETENTION_DAYS)', () => {
  const DAY = 24 * HOUR;
  let t: TestWorkstation | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('deletes raw events processed longer ago than the retention, keeps their rows and their dedupe', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 2, 15));
    t = await openTestWorkstation({ ...BASE_ENV, WEBHOOK_INBOX_RETENTION_DAYS: '7' }, { clock });
    const ws = t.ws;
    const inboxRows = () => (ws.stores.journal.db.prepare('SELECT count(*) AS n FROM webhook_inbox').get() as { n: number }).n;
    await sendMix(t);
    await ws.webhooks.processor.drain();
    await clock.advance(DAY);
    const trade = fixtureJson<[string, Record<string, unknown>]>('uw-option-trade.json');
    const late = JSON.stringify([trade[0], { ...trade[1], id: 'trade-late' }]);
    expect((await post(ws, '/uw', late, { headers: auth })).status).toBe(202);
    await ws.webhooks.processor.drain();
    ws.webhooks.inbox.indexKeys(Number.MAX_SAFE_INTEGER);
    const tables = await tableCounts(t);

    // Six days after the first events: nothing is old enough yet.
    await clock.advance(5 * DAY);
    expect(await ws.webhooks.pruneInbox()).toBe(0);
    // Eight days after: the 28 first events go, the one processed a day later stays.
    await clock.advance(2 * DAY);
    expect(await ws.webhooks.pruneInbox()).toBe(28);
    expect(inboxRows()).toBe(1);
    expect(ws.webhooks.inbox.counts()).toEqual({ pending: 0, failed: 0, dead: 0, done: 1 });
    expect(await tableCounts(t)).toEqual(tables);

    // A provider resending a pruned event is still told it is a duplicate; changed content is still a conflict.
    const again = JSON.stringify([trade[0], { ...trade[1], id: 'trade-3' }]);
    const dup = await post(ws, '/uw', again, { headers: auth });
    expect(dup.status).toBe(200);
    expect(dup.json).toMatchObject({ duplicate: true });
    const changed = JSON.stringify([trade[0], { ...trade[1], id: 'trade-3', size: 999 }]);
    expect((await post(ws, '/uw', changed, { headers: auth })).status).toBe(409);
    expect(inboxRows()).toBe(1);

    // The newest event is never deleted (its id is what the next id follows), even when old enough.
    await clock.advance(30 * DAY);
    expect(await ws.webhooks.pruneInbox()).toBe(0);
    const next = await post(ws, '/uw', JSON.stringify([trade[0], { ...trade[1], id: 'trade-next' }]), { headers: auth });
    expect(next.status).toBe(202);
    expect((next.json as { id: number }).id).toBe(30);
  });

  it('keeps everything with the default retention of 0 days', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 2, 15));
    t = await openTestWorkstation(BASE_ENV, { clock });
    await sendMix(t);
    await t.ws.webhooks.processor.drain();
    await clock.advance(400 * DAY);
    expect(await t.ws.webhooks.pruneInbox()).toBe(0);
    expect(t.ws.webhooks.inbox.counts().done).toBe(28);
  });
});
