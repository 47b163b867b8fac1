export { defaultDataDir, type LoadedSettings, loadSettings, parseSettings, type SettingSource } from './loader';
export {
  cronProblem,
  describeSettingIssues,
  isValidTimeZone,
  SETTING_KEYS,
  type SettingDoc,
  type SettingKey,
  type Settings,
  settingDocs,
  settingsSchema,
  symbolSchema,
} from './schema';
export { SECRET_MASK, type SettingsListener, SettingsStore, writeJsonAtomic } from './settings-store';
