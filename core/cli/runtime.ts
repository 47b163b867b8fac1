/** Shared start-up for CLI commands: settings from env/.env/file plus flags, and a workstation. */
import { loadSettings, type SettingKey } from '../config';
import { AppError } from '../platform';
import { connectToRunningApp, type RunningApp } from '../server';
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

export type LocalOrApp = { ws: Workstation; app?: undefined } | { ws?: undefined; app: RunningApp };

/**
 * Opens the stores, or — when a running Marketdesk (serve or desktop) holds their locks — returns a client
 * of that app, so the command is carried out there. Any other failure, or a lock held by something that
 * does not answer as a Marketdesk on this data folder, is thrown as is.
 */
export async function openWorkstationOrApp(options: OpenOptions): Promise<LocalOrApp> {
  try {
    return { ws: await openWorkstation(options) };
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'STORE_LOCKED') throw err;
    const app = await connectToRunningApp(loadSettings({ overrides: options.overrides }).settings.DATA_DIR);
    if (!app) throw err;
    return { app };
  }
}
