import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestWorkstation, removeDir, tempDir } from '../support/workstation';
import { fixtureJson, SECRET } from './support';

const CHILD = new URL('./fixtures/listener-child.ts', import.meta.url).pathname;

function startChild(dataDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, DATA_DIR: dataDir, WEBHOOK_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`child did not start: ${err}`)), 20_000);
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /READY (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.stderr?.on('data', (d) => {
      err += String(d);
    });
    child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)));
  });
}

describe('durability: a 2xx means the event is on disk', () => {
  let dataDir: string | undefined;
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dataDir) removeDir(dataDir);
  });

  it('after a SIGKILL mid-load, every acknowledged event is in the inbox and, once processed, in its table exactly once', async () => {
    dataDir = tempDir('marketdesk-crash-');
    const started = await startChild(dataDir);
    child = started.child;
    const base = `http://127.0.0.1:${started.port}`;
    const [, trade] = fixtureJson<[string, Record<string, unknown>]>('uw-option-trade.json');
    const acked = new Set<number>();
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (!killed) {
        const n = next++;
        const body = JSON.stringify(['option_trades', { ...trade, id: `crash-${n}` }]);
        try {
          const res = await fetch(`${base}/uw`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
            body,
            signal: AbortSignal.timeout(5000),
          });
          if (res.status === 202 || res.status === 200) acked.add(n);
          await res.arrayBuffer();
        } catch {
          // the server died under us: this one was never acknowledged
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    const deadline = Date.now() + 15_000;
    while (acked.size < 1500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await new Promise((r) => child?.once('exit', r));
    killed = true;
    await Promise.all(workers);
    expect(acked.size).toBeGreaterThanOrEqual(1500);
    expect(next).toBeGreaterThan(acked.size); // some requests were in flight when it died

    const t = await openTestWorkstation({ WEBHOOK_PORT: '0', WEBHOOK_SECRET: SECRET }, { dataDir });
    try {
      const db = t.ws.stores.journal.db;
      const stored = new Set(
        (db.prepare("SELECT dedupe_key FROM webhook_inbox WHERE topic = 'option_trades'").all() as { dedupe_key: string }[]).map(
          (r) => Number(r.dedupe_key.split('crash-')[1]),
        ),
      );
      const missing = [...acked].filter((n) => !stored.has(n));
      expect(missing).toEqual([]);
      await t.ws.webhooks.processor.drain();
      const rows = await t.ws.stores.warehouse.rows<{ n: number; d: number }>(
        'SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d FROM option_trades',
      );
      expect(rows[0].n).toBe(rows[0].d);
      expect(rows[0].n).toBe(stored.size);
      const inTable = new Set(
        (await t.ws.stores.warehouse.rows<{ id: string }>('SELECT id FROM option_trades')).map((r) =>
          Number(r.id.split('crash-')[1]),
        ),
      );
      expect([...acked].filter((n) => !inTable.has(n))).toEqual([]);

      // Redeliveries after the restart are still recognised — old keys from the on-disk index,
      // the last ones (not yet indexed when it died) rebuilt from the inbox.
      const redeliver = [...acked].sort((a, b) => a - b);
      const sample = [...redeliver.slice(0, 10), ...redeliver.slice(-40)];
      const base2 = t.ws.webhooks.url();
      for (const n of sample) {
        const res = await fetch(`${base2}/uw`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
          body: JSON.stringify(['option_trades', { ...trade, id: `crash-${n}` }]),
        });
        expect(res.status, `crash-${n}`).toBe(200);
      }
      const changed = await fetch(`${base2}/uw`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify(['option_trades', { ...trade, id: `crash-${redeliver[redeliver.length - 1]}`, size: 1 }]),
      });
      expect(changed.status).toBe(409);
    } finally {
      await t.ws.stop();
    }
  }, 60_000);
});
