/** The live settings of a running workstation: validated updates, persisted atomically, announced to listeners. */
import { renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError, makeFolderSync } from '../platform';
import type { LoadedSettings, SettingSource } from './loader';
import { describeSettingIssues, type SettingKey, type Settings, settingDocs, settingsSchema } from './schema';

export type SettingsListener = (settings: Settings, changed: SettingKey[]) => void;

export const SECRET_MASK = '********';

export class SettingsStore {
  private current: Settings;
  private readonly sources: Record<SettingKey, SettingSource>;
  private fileValues: Record<string, unknown>;
  private readonly file: string;
  private readonly listeners = new Set<SettingsListener>();

  constructor(loaded: LoadedSettings) {
    this.current = loaded.settings;
    this.sources = { ...loaded.sources };
    this.fileValues = { ...loaded.fileValues };
    this.file = loaded.settingsFile;
  }

  get(): Settings {
    return this.current;
  }

  sourceOf(key: SettingKey): SettingSource {
    return this.sources[key];
  }

  /** Settings as the UI may see them: secrets masked, with where each value came from. */
  describe(): { values: Record<SettingKey, unknown>; sources: Record<SettingKey, SettingSource>; locked: SettingKey[] } {
    const values = {} as Record<SettingKey, unknown>;
    for (const key of Object.keys(this.current) as SettingKey[]) {
      const value = this.current[key];
      values[key] = settingDocs[key].secret ? (value ? SECRET_MASK : '') : value;
    }
    return { values, sources: { ...this.sources }, locked: this.lockedKeys() };
  }

  lockedKeys(): SettingKey[] {
    return (Object.keys(this.sources) as SettingKey[]).filter(
      (k) => ['env', 'dotenv', 'cli'].includes(this.sources[k]) || settingDocs[k].startupOnly === true,
    );
  }

  /** Validates the whole result before anything is written: a bad value changes nothing. */
  update(patch: Partial<Record<SettingKey, unknown>>): { settings: Settings; changed: SettingKey[] } {
    const keys = Object.keys(patch) as SettingKey[];
    const unknownKeys = keys.filter((k) => !Object.hasOwn(settingsSchema.shape, k));
    if (unknownKeys.length > 0) {
      throw new AppError('SETTING_UNKNOWN', `Unknown setting(s): ${unknownKeys.join(', ')}`, {
        details: { issues: unknownKeys.map((k) => ({ path: [k], message: 'unknown setting' })) },
      });
    }
    const effective = keys.filter((k) => !(settingDocs[k].secret && patch[k] === SECRET_MASK));
    const locked = effective.filter((k) => this.lockedKeys().includes(k) && patch[k] !== this.current[k]);
    if (locked.length > 0) {
      throw new AppError(
        'SETTING_LOCKED',
        `Cannot change ${locked.join(', ')}: ${locked.map((k) => this.lockReason(k)).join('; ')}`,
        { details: { issues: locked.map((k) => ({ path: [k], message: this.lockReason(k) })) } },
      );
    }
    const raw: Record<string, unknown> = { ...this.current };
    for (const k of effective) raw[k] = patch[k];
    const parsed = settingsSchema.safeParse(raw);
    if (!parsed.success) {
      const lines = describeSettingIssues(parsed.error.issues, raw);
      throw new AppError('SETTING_INVALID', `Invalid setting: ${lines.join('; ')}`, {
        details: { issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
      });
    }
    const changed = effective.filter((k) => JSON.stringify(parsed.data[k]) !== JSON.stringify(this.current[k]));
    if (changed.length === 0) return { settings: this.current, changed };
    const nextFile = { ...this.fileValues };
    for (const k of changed) {
      nextFile[k] = parsed.data[k];
      this.sources[k] = 'file';
    }
    writeJsonAtomic(this.file, nextFile);
    this.fileValues = nextFile;
    this.current = parsed.data;
    for (const listener of this.listeners) listener(this.current, changed);
    return { settings: this.current, changed };
  }

  onChange(listener: SettingsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private lockReason(key: SettingKey): string {
    if (settingDocs[key].startupOnly) return `${key} can only be set at start-up (environment, .env or command line)`;
    return `${key} is set by the ${this.sources[key] === 'cli' ? 'command line' : this.sources[key] === 'dotenv' ? '.env file' : 'environment'}`;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  makeFolderSync(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  // The settings file holds WEBHOOK_SECRET and UW_API_TOKEN: readable by this user only.
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
