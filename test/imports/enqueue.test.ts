/** Other capabilities (the /gex_history_url webhook route) queue imports with `enqueueImport(journalDb, …)`. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enqueueImport } from '../../core/imports';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';
import { body, type FileServer, serveFiles, snapshots, TEST_ENV } from './support';

let server: FileServer;
let t: TestWorkstation | undefined;
beforeAll(async () => {
  server = await serveFiles({
    '/a.json': body(JSON.stringify(snapshots({ count: 2 }))),
  });
});
afterAll(() => server.close());
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe('queueing imports from elsewhere', () => {
  it('enqueueImport on the journal wakes the running queue, idempotently by URL', async () => {
    t = await openTestWorkstation(TEST_ENV);
    const first = enqueueImport(t.ws.stores.journal.db, { url: server.url('/a.json'), source: 'webhook' });
    const again = enqueueImport(t.ws.stores.journal.db, { url: server.url('/a.json'), source: 'webhook' });
    expect(again).toMatchObject({ created: false, job: { id: first.job.id } });
    const done = await t.ws.imports.queue.waitFor(first.job.id);
    expect([done.state, done.origin, done.snapshotsInserted]).toEqual(['done', 'webhook', 2]);
    expect(() => enqueueImport(t?.ws.stores.journal.db as never, { url: 'ftp://example.com/x.json' })).toThrow(/http/);
  });
});
