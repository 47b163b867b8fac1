/**
 * Desktop secrets (WEBHOOK_SECRET, UW_API_TOKEN). On the desktop they never go into settings.json:
 * main keeps them encrypted with Electron safeStorage (OS keychain) in `<userData>/secrets.json`,
 * decrypts them at fork and hands them to the core host through its environment. The Settings page
 * still edits them with `settings.update`; main takes the secret keys out of the patch, stores them,
 * and restarts the host so it reads the new values. This module holds the plain-Node part.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../config';
import { type SettingKey, settingDocs } from '../config/schema';
import { SECRET_MASK } from '../config/settings-store';

export const SECRET_KEYS = (Object.keys(settingDocs) as SettingKey[]).filter((k) => settingDocs[k].secret === true);

/** What Electron's safeStorage offers, so the vault is testable without Electron. */
export interface Cipher {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

export class SecretVault {
  private readonly file: string;
  private readonly cipher: Cipher;

  constructor(file: string, cipher: Cipher) {
    this.file = file;
    this.cipher = cipher;
  }

  /** Decrypted secrets, ready for the host's environment. An unreadable entry is skipped, not fatal. */
  read(): Partial<Record<SettingKey, string>> {
    const out: Partial<Record<SettingKey, string>> = {};
    for (const [key, value] of Object.entries(this.readFile())) {
      if (!(SECRET_KEYS as string[]).includes(key) || typeof value !== 'string') continue;
      try {
        out[key as SettingKey] = this.cipher.decryptString(Buffer.from(value, 'base64'));
      } catch {
        // Encrypted by another OS user or keychain: the user sets it again.
      }
    }
    return out;
  }

  /** Stores (or, with '', removes) secrets; refuses when the OS offers no encryption rather than writing plain text. */
  write(values: Partial<Record<SettingKey, string>>): void {
    if (!this.cipher.isEncryptionAvailable()) {
      throw new Error('The OS keychain is not available: set WEBHOOK_SECRET / UW_API_TOKEN in the environment or .env instead');
    }
    const next = this.readFile();
    for (const [key, value] of Object.entries(values)) {
      if (value === '' || value === undefined) delete next[key];
      else next[key] = this.cipher.encryptString(value).toString('base64');
    }
    writeJsonAtomic(this.file, next);
  }

  private readFile(): Record<string, unknown> {
    if (!existsSync(this.file)) return {};
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
    } catch {
      return {};
    }
  }
}

/** Splits a settings patch into the secrets (for the vault) and the rest (for the host). The mask means "unchanged". */
export function splitSecretPatch(values: Record<string, unknown>): {
  secrets: Partial<Record<SettingKey, string>>;
  rest: Record<string, unknown>;
} {
  const secrets: Partial<Record<SettingKey, string>> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if ((SECRET_KEYS as string[]).includes(key)) {
      if (value !== SECRET_MASK) secrets[key as SettingKey] = String(value ?? '');
    } else rest[key] = value;
  }
  return { secrets, rest };
}
