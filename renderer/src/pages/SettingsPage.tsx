/** Settings: every setting grouped, validated per field (same zod schema as the core), saved through the contract. */
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { SettingsView } from '../../../core/api/browser';
import { settingsSchema } from '../../../core/config/schema';
import { ApiCallError, api, isDesktop } from '../api';
import { useApp } from '../stores/app';

type Draft = Record<string, string | boolean>;

const GROUP_TITLES: Record<string, string> = {
  general: 'General',
  cache: 'Market-data cache',
  ibkr: 'Interactive Brokers',
  workflow: 'Pipeline schedule',
  webhooks: 'Webhooks and streams',
  server: 'Serve mode',
};

function toDraftValue(value: unknown): string | boolean {
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.join(',');
  return value === undefined || value === null ? '' : String(value);
}

function fieldError(key: string, value: string | boolean): string | null {
  const shape = settingsSchema.shape as Record<
    string,
    { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } }
  >;
  const res = shape[key]?.safeParse(value);
  return res && !res.success ? (res.error?.issues[0]?.message ?? 'invalid') : null;
}

export default function SettingsPage() {
  const [view, setView] = useState<SettingsView | null>(null);
  const [draft, setDraft] = useState<Draft>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const notify = useApp((s) => s.notify);

  const load = useCallback(async () => {
    const v = await api.call('settings.get', {});
    setView(v);
    setDraft(Object.fromEntries(Object.entries(v.values).map(([k, val]) => [k, toDraftValue(val)])));
    // Back to the stored values: the errors of the edits just dropped must not keep Save disabled.
    setErrors({});
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const changedKeys = useMemo(() => {
    if (!view) return [];
    return Object.keys(draft).filter((k) => draft[k] !== toDraftValue(view.values[k]));
  }, [draft, view]);

  if (!view) return <p className="muted">Loading settings…</p>;

  const groups = new Map<string, string[]>();
  for (const key of Object.keys(view.values)) {
    const group = view.docs[key]?.group ?? 'general';
    groups.set(group, [...(groups.get(group) ?? []), key]);
  }

  const update = (key: string, value: string | boolean) => {
    setDraft((d) => ({ ...d, [key]: value }));
    setMessage(null);
    const problem = fieldError(key, value);
    setErrors((e) => {
      const next = { ...e };
      if (problem) next[key] = problem;
      else delete next[key];
      return next;
    });
  };

  const save = async () => {
    const values = Object.fromEntries(changedKeys.map((k) => [k, draft[k]]));
    setSaving(true);
    try {
      const res = await api.call('settings.update', { values });
      setView(res.settings);
      setDraft(Object.fromEntries(Object.entries(res.settings.values).map(([k, val]) => [k, toDraftValue(val)])));
      setErrors({});
      setMessage(res.changed.length ? `Saved: ${res.changed.join(', ')}` : 'Nothing changed');
      notify({ level: 'info', title: 'Settings saved', message: res.changed.join(', ') || 'no changes' });
    } catch (err) {
      if (err instanceof ApiCallError && err.issues.length > 0) {
        setErrors(Object.fromEntries(err.issues.map((i) => [String(i.path[0] ?? ''), i.message])));
      }
      setMessage(err instanceof Error ? err.message : String(err));
    } finally {
      setSaving(false);
    }
  };

  const hasErrors = Object.keys(errors).length > 0;
  return (
    <section className="page" data-testid="page-settings">
      <header className="page-header">
        <h1>Settings</h1>
        <div className="actions">
          <button type="button" data-testid="settings-revert" onClick={() => void load()} disabled={saving}>
            Revert
          </button>
          <button
            type="button"
            className="primary"
            data-testid="settings-save"
            disabled={saving || hasErrors || changedKeys.length === 0}
            onClick={() => void save()}
          >
            {saving ? 'Saving…' : `Save${changedKeys.length ? ` (${changedKeys.length})` : ''}`}
          </button>
        </div>
      </header>
      {message && (
        <p className={hasErrors ? 'bad' : 'muted'} data-testid="settings-message">
          {message}
        </p>
      )}
      {[...groups.entries()].map(([group, keys]) => (
        <fieldset key={group} className="card">
          <legend>{GROUP_TITLES[group] ?? group}</legend>
          {keys.map((key) => {
            const doc = view.docs[key];
            // On the desktop, secrets arrive through the host's environment (from the OS keychain) and look
            // locked; the main process accepts changes to them and stores them in the keychain.
            const locked = view.locked.includes(key) && !(isDesktop && doc?.secret);
            const value = draft[key];
            const id = `setting-${key}`;
            return (
              <div key={key} className={`field${errors[key] ? ' invalid' : ''}`}>
                <label htmlFor={id}>
                  <code>{key}</code>
                  {locked && (
                    <span className="badge" title={`Set by ${view.sources[key]}`}>
                      locked · {view.sources[key] === 'default' ? 'start-up only' : view.sources[key]}
                    </span>
                  )}
                  {doc?.restart && <span className="badge">restart</span>}
                </label>
                {typeof value === 'boolean' ? (
                  <input
                    id={id}
                    data-testid={id}
                    type="checkbox"
                    checked={value}
                    disabled={locked}
                    onChange={(e) => update(key, e.target.checked)}
                  />
                ) : (
                  <input
                    id={id}
                    data-testid={id}
                    type={doc?.secret ? 'password' : 'text'}
                    value={value ?? ''}
                    disabled={locked}
                    onChange={(e) => update(key, e.target.value)}
                  />
                )}
                <small className="muted">{doc?.description}</small>
                {errors[key] && (
                  <small className="bad" data-testid={`${id}-error`}>
                    {errors[key]}
                  </small>
                )}
              </div>
            );
          })}
        </fieldset>
      ))}
    </section>
  );
}
