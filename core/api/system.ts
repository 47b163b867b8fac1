/** Contract for the workstation itself: status, health, and the live settings. */
import { z } from 'zod';
import { event, method } from './define';

const storeHealth = z.object({ ok: z.boolean(), path: z.string(), error: z.string().optional() });

export const systemStatusSchema = z.object({
  app: z.object({ name: z.string(), version: z.string() }),
  versions: z.record(z.string(), z.string()),
  mode: z.enum(['serve', 'desktop', 'cli', 'test']),
  demo: z.boolean(),
  debugMode: z.boolean(),
  dataDir: z.string(),
  startedAt: z.string(),
  uptimeSeconds: z.number(),
  stores: z.object({ warehouse: storeHealth, journal: storeHealth }),
  diskFreeBytes: z.number().nullable(),
});
export type SystemStatus = z.infer<typeof systemStatusSchema>;

export const settingSourceSchema = z.enum(['default', 'file', 'dotenv', 'env', 'cli']);

export const settingsViewSchema = z.object({
  values: z.record(z.string(), z.unknown()),
  sources: z.record(z.string(), settingSourceSchema),
  locked: z.array(z.string()),
  docs: z.record(
    z.string(),
    z.object({
      group: z.string(),
      description: z.string(),
      secret: z.boolean().optional(),
      startupOnly: z.boolean().optional(),
      restart: z.boolean().optional(),
    }),
  ),
});
export type SettingsView = z.infer<typeof settingsViewSchema>;

export const systemMethods = {
  'system.status': method('Versions, data folder, store health and uptime', z.object({}).strict(), systemStatusSchema),
  'settings.get': method('Current settings (secrets masked) with their sources', z.object({}).strict(), settingsViewSchema),
  'settings.update': method(
    'Change settings; validated as a whole and persisted to the settings file',
    z.object({ values: z.record(z.string(), z.unknown()) }).strict(),
    z.object({ changed: z.array(z.string()), settings: settingsViewSchema }),
  ),
};

export const systemEvents = {
  'settings.changed': event('Settings were changed', z.object({ changed: z.array(z.string()) })),
  'system.notice': event(
    'Something the user should see (run failure, listener error)',
    z.object({ level: z.enum(['info', 'warn', 'error']), title: z.string(), message: z.string(), link: z.string().optional() }),
  ),
};
