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
    t = await openTestWorkstation({ ...TEST_ENV, WEBHOOK_ALLOW_PRIVATE_URLS: 'true' });
    const first = enqueueImport(t.ws.stores.journal.db, { url: server.url('/a.json'), source: 'webhook' });
    const again = enqueueImport(t.ws.stores.journal.db, { url: server.url('/a.json'), source: 'webhook' });
    expect(again).toMatchObject({ created: false, job: { id: first.job.id } });
    const done = await t.ws.imports.queue.waitFor(first.job.id);
    expect([done.state, done.origin, done.snapshotsInserted]).toEqual(['done', 'webhook', 2]);
    expect(() => enqueueImport(t?.ws.stores.journal.db as never, { url: 'ftp://example.com/x.json' })).toThrow(/http/);
  });

  it('a URL queued from a webhook cannot reach a private address when it connects (IP or name), unless allowed', async () => {
    t = await openTestWorkstation(TEST_ENV);
    const db = t.ws.stores.journal.db;
    const byName = server.url('/a.json').replace('127.0.0.1', 'localhost');
    // The trader's own imports (UI, CLI, API) may read from their machine or LAN — and leave a keep-alive
    // connection to it behind, which a webhook's URL for the same host must not reuse.
    const own = enqueueImport(db, { url: byName, source: 'api' });
    expect((await t.ws.imports.queue.waitFor(own.job.id)).state).toBe('done');
    const hitsBefore = server.hits('/a.json');
    const viaWebhook = [
      enqueueImport(db, { url: `${byName}?from=webhook`, source: 'webhook' }),
      enqueueImport(db, { url: server.url('/a.json'), source: 'webhook' }),
    ];
    for (const { job } of viaWebhook) {
      const failed = await t.ws.imports.queue.waitFor(job.id);
      expect([failed.state, failed.errorCode], job.url ?? '').toEqual(['failed', 'URL_REFUSED']);
      expect(failed.error).toMatch(/WEBHOOK_ALLOW_PRIVATE_URLS/);
    }
    expect(server.hits('/a.json')).toBe(hitsBefore);
  });
});
