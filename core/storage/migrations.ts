/**
 * Numbered schema migrations. Each capability owns its tables and lists its migrations with
 * ids `<capability>/<NNNN>_<name>`; a store records every id it has applied. A store holding
 * an id this build does not know was written by a newer Marketdesk and is refused untouched.
 */
import { AppError } from '../platform';

export interface Migration<Db> {
  id: string;
  up: string | ((db: Db) => void | Promise<void>);
}

const ID_PATTERN = /^[a-z][a-z0-9-]*\/\d{4}_[a-z0-9_]+$/;

export function checkMigrationList<Db>(migrations: readonly Migration<Db>[]): void {
  const seen = new Set<string>();
  for (const m of migrations) {
    if (!ID_PATTERN.test(m.id)) throw new Error(`Migration id "${m.id}" must look like "capability/0001_name"`);
    if (seen.has(m.id)) throw new Error(`Migration id "${m.id}" is listed twice`);
    seen.add(m.id);
  }
}

export function unknownApplied(applied: readonly string[], known: readonly { id: string }[]): string[] {
  const knownIds = new Set(known.map((m) => m.id));
  return applied.filter((id) => !knownIds.has(id));
}

export function newerSchemaError(store: string, path: string, ids: string[]): AppError {
  return new AppError(
    'STORE_NEWER_SCHEMA',
    `${store} ${path} was written by a newer Marketdesk (unknown migrations: ${ids.join(', ')}). ` +
      'Upgrade Marketdesk or point DATA_DIR elsewhere; the file was not modified.',
    { status: 503 },
  );
}
