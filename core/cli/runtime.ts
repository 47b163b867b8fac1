/** Shared start-up for CLI commands: settings from env/.env/file plus flags, and a workstation. */
import { loadSettings, type SettingKey } from '../config';
import { Workstation, type WorkstationMode } from '../workstation';

export interface OpenOptions {
  mode: WorkstationMode;
  demo?: boolean;
  overrides?: Partial<Record<SettingKey, unknown>>;
  logToStderr?: boolean;
}

export async function openWorkstation(options: OpenOptions): Promise<Workstation> {
  const loaded = loadSettings({ overrides: options.overrides });
  return Workstation.open({ loaded, mode: options.mode, demo: options.demo, logToStderr: options.logToStderr });
}
