/**
 * Where settings come from, lowest to highest precedence:
 * built-in defaults < settings file (<DATA_DIR>/settings.json, written by the UI) < .env < environment.
 * A key set in .env or the environment is locked: the UI shows it and refuses to change it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { AppError } from '../platform';
import { describeSettingIssues, SETTING_KEYS, type SettingKey, type Settings, settingsSchema } from './schema';

export type SettingSource = 'default' | 'file' | 'dotenv' | 'env' | 'cli';

export interface LoadedSettings {
  settings: Settings;
  sources: Record<SettingKey, SettingSource>;
  /** Raw values from the settings file, kept so updates can be merged into it. */
  fileValues: Record<string, unknown>;
  settingsFile: string;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Values from command-line flags; they win over everything. */
  overrides?: Partial<Record<SettingKey, unknown>>;
}

export const SETTINGS_FILE = 'settings.json';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Marketdesk');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Marketdesk');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'marketdesk');
}

/**
 * The first DATA_DIR given, as a folder: blank (`DATA_DIR=` in a .env) means the default rather than the
 * working directory, and `~/…` is the home folder as in a shell — copied from the README, it used to make a
 * folder named `~` wherever the app was started.
 */
function dataDirOf(candidates: unknown[], env: NodeJS.ProcessEnv, cwd: string): string {
  const given = candidates.find((v) => v !== undefined && String(v).trim() !== '');
  if (given === undefined) return defaultDataDir(env);
  const text = String(given).trim();
  const home = text === '~' || text.startsWith('~/') || text.startsWith('~\\') ? join(homedir(), text.slice(1)) : text;
  return resolve(cwd, home);
}

export function loadSettings(options: LoadOptions = {}): LoadedSettings {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const dotenv = readDotenv(join(cwd, '.env'));
  const fromEnv = pickKnown(env);
  const overrides = options.overrides ?? {};

  const dataDir = dataDirOf([overrides.DATA_DIR, fromEnv.DATA_DIR, dotenv.DATA_DIR], env, cwd);
  const settingsFile = join(dataDir, SETTINGS_FILE);
  const fileValues = readSettingsFile(settingsFile);

  const sources = {} as Record<SettingKey, SettingSource>;
  const raw: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    sources[key] = 'default';
    for (const [source, values] of [
      ['file', fileValues],
      ['dotenv', dotenv],
      ['env', fromEnv],
      ['cli', overrides],
    ] as const) {
      const value = (values as Record<string, unknown>)[key];
      if (value !== undefined) {
        raw[key] = value;
        sources[key] = source;
      }
    }
  }
  raw.DATA_DIR = dataDir;

  return { settings: parseSettings(raw), sources, fileValues, settingsFile };
}

export function parseSettings(raw: Record<string, unknown>): Settings {
  const parsed = settingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = describeSettingIssues(parsed.error.issues, raw);
  throw new AppError('CONFIG_INVALID', `Invalid configuration:\n  ${lines.join('\n  ')}`, {
    details: { lines },
  });
}

function pickKnown(values: Record<string, unknown>): Partial<Record<SettingKey, unknown>> {
  const out: Partial<Record<SettingKey, unknown>> = {};
  for (const key of SETTING_KEYS) if (values[key] !== undefined) out[key] = values[key];
  return out;
}

function readDotenv(path: string): Partial<Record<SettingKey, unknown>> {
  if (!existsSync(path)) return {};
  return pickKnown(parseEnv(readFileSync(path, 'utf8')));
}

function readSettingsFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `Settings file ${path} is not valid JSON (${(err as Error).message}); fix or delete it`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AppError('CONFIG_INVALID', `Settings file ${path} must hold a JSON object of settings`);
  }
  const unknownKeys = Object.keys(parsed).filter((k) => !(SETTING_KEYS as string[]).includes(k));
  if (unknownKeys.length > 0) {
    throw new AppError('CONFIG_INVALID', `Settings file ${path} has unknown keys: ${unknownKeys.join(', ')}`);
  }
  return parsed as Record<string, unknown>;
}
