/** A test workstation wired to a simulated IB Gateway on 127.0.0.1, for pipeline stories. */

import type { EventName } from '../../core/api';
import { IbGatewaySimulator, type SimulatorOptions } from '../../core/ibkr';
import type { WorkstationOptions } from '../../core/workstation';
import { openTestWorkstation, type TestWorkstation } from '../support/workstation';

export interface PipelineWorkstation extends TestWorkstation {
  sim: IbGatewaySimulator;
  events: { name: EventName; payload: unknown }[];
}

export async function openPipelineWorkstation(
  options: { sim?: SimulatorOptions; env?: Record<string, string>; dataDir?: string } & Partial<
    Omit<WorkstationOptions, 'loaded'>
  > = {},
): Promise<PipelineWorkstation> {
  const { sim: simOptions, env, ...wsOptions } = options;
  const sim = new IbGatewaySimulator({ unknownSymbols: ['NOSUCH'], ...simOptions });
  const port = await sim.start();
  const t = await openTestWorkstation(
    { IB_HOST: '127.0.0.1', IB_PORT: String(port), CACHE_SYMBOLS: 'NVDA,TSLA', LOG_LEVEL: 'debug', ...env },
    wsOptions,
  );
  const events: { name: EventName; payload: unknown }[] = [];
  t.ws.events.subscribe((name, payload) => events.push({ name, payload }));
  if (!t.ws.settings.get().DEBUG_MODE) await t.ws.ibkr.waitForConnected(5_000);
  // Runs retry quickly in tests.
  t.ws.runs.pipeline.retryBaseMs = 10;
  return {
    ...t,
    sim,
    events,
    async dispose() {
      await t.dispose();
      await sim.stop();
    },
  };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
