/** Real workstations on real temp-dir stores, for tests. */
import { type LoadedSettings, loadSettings } from '../../core/config';
import { type LogRecord, memorySink } from '../../core/platform';
import { Workstation, type WorkstationOptions } from '../../core/workstation';

import { removeDir, tempDir } from './temp';

export { removeDir, tempDir };

/** Settings as a fresh install would load them, with DATA_DIR in `dataDir` and no repo .env. */
export function testSettings(dataDir: string, env: Record<string, string> = {}): LoadedSettings {
  return loadSettings({ env: { DATA_DIR: dataDir, ...env }, cwd: dataDir });
}

export interface TestWorkstation {
  ws: Workstation;
  dataDir: string;
  logs: LogRecord[];
  /** Stops the workstation and deletes its data dir. */
  dispose(): Promise<void>;
}

export async function openTestWorkstation(
  env: Record<string, string> = {},
  options: Partial<Omit<WorkstationOptions, 'loaded'>> & { dataDir?: string; start?: boolean } = {},
): Promise<TestWorkstation> {
  const dataDir = options.dataDir ?? tempDir();
  const logs: LogRecord[] = [];
  const ws = await Workstation.open({
    mode: 'test',
    ...options,
    loaded: testSettings(dataDir, env),
    logSinks: [memorySink(logs), ...(options.logSinks ?? [])],
  });
  if (options.start !== false) await ws.start();
  return {
    ws,
    dataDir,
    logs,
    async dispose() {
      await ws.stop();
      if (!options.dataDir) removeDir(dataDir);
    },
  };
}
