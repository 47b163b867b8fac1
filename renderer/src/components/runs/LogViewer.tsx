/**
 * A run's log: one collapsible section per task, a level filter that keeps every entry whole (a
 * multi-line message and its fields stay together), a text search over every entry (collapsed
 * sections included: they open when they hold a match), JSON fields pretty-printed and highlighted,
 * and copy of a line, a section or the whole log.
 */
import { Fragment, type ReactNode, useMemo, useState } from 'react';
import type { LogEntry } from '../../stores/runs';
import { copyText } from '../clipboard';
import { highlightJson } from './JsonView';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const RENDER_LIMIT = 1500;

export function entryText(e: LogEntry): string {
  const where = e.task ? ` [${e.task}${e.attempt ? `#${e.attempt}` : ''}]` : '';
  const fields = e.fields ? `\n${JSON.stringify(e.fields, null, 2)}` : '';
  return `${e.time} ${e.level.toUpperCase()}${where} ${e.message}${fields}`;
}

function mark(text: string, needle: string): ReactNode {
  if (!needle) return text;
  const lower = text.toLowerCase();
  const parts: ReactNode[] = [];
  let from = 0;
  let i = lower.indexOf(needle);
  let k = 0;
  while (i >= 0) {
    parts.push(text.slice(from, i), <mark key={k++}>{text.slice(i, i + needle.length)}</mark>);
    from = i + needle.length;
    i = lower.indexOf(needle, from);
  }
  parts.push(text.slice(from));
  return parts;
}

function CopyLink({ text, label, testId }: { text: string; label: string; testId?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="link-button"
      data-testid={testId}
      onClick={(e) => {
        e.stopPropagation();
        void copyText(text).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1200);
        });
      }}
    >
      {done ? 'copied ✓' : label}
    </button>
  );
}

function LogLine({ entry, needle }: { entry: LogEntry; needle: string }) {
  const fieldsText = entry.fields ? JSON.stringify(entry.fields, null, 2) : null;
  return (
    <div className={`log-line level-${entry.level}`} data-testid="log-line" data-level={entry.level}>
      <div className="log-head">
        <span className="log-time mono" title={entry.time}>
          {localClock(entry.time)}
        </span>
        <span className={`log-level level-${entry.level}`}>{entry.level}</span>
        {entry.attempt && entry.attempt > 1 ? <span className="badge">attempt {entry.attempt}</span> : null}
        <span className="log-message">{mark(entry.message, needle)}</span>
        <CopyLink text={entryText(entry)} label="copy" testId="copy-line" />
      </div>
      {fieldsText && (
        <pre className="json-view log-fields" data-testid="log-fields">
          {needle && fieldsText.toLowerCase().includes(needle) ? mark(fieldsText, needle) : highlightJson(fieldsText)}
        </pre>
      )}
    </div>
  );
}

export function LogViewer({ entries, testId = 'log-viewer' }: { entries: LogEntry[]; testId?: string }) {
  const [level, setLevel] = useState<Level>('debug');
  const [query, setQuery] = useState('');
  const [collapsed, setCollapsed] = useState<Record<string, boolean>>({});
  const [showAll, setShowAll] = useState<Record<string, boolean>>({});
  const needle = query.trim().toLowerCase();

  const sections = useMemo(() => {
    const order: string[] = [];
    const byTask = new Map<string, LogEntry[]>();
    for (const e of entries) {
      const key = e.task ?? 'run';
      if (!byTask.has(key)) {
        byTask.set(key, []);
        order.push(key);
      }
      byTask.get(key)?.push(e);
    }
    return order.map((task) => {
      const all = byTask.get(task) ?? [];
      const shown = all.filter(
        (e) =>
          RANK[e.level] >= RANK[level] &&
          (!needle ||
            e.message.toLowerCase().includes(needle) ||
            (e.fields !== null && JSON.stringify(e.fields).toLowerCase().includes(needle))),
      );
      const worst = all.reduce<Level>((w, e) => (RANK[e.level] > RANK[w] ? e.level : w), 'debug');
      return { task, all, shown, worst };
    });
  }, [entries, level, needle]);

  const matches = sections.reduce((n, s) => n + s.shown.length, 0);

  return (
    <div className="log-viewer" data-testid={testId}>
      <div className="log-toolbar">
        <label>
          Level{' '}
          <select value={level} onChange={(e) => setLevel(e.target.value as Level)} data-testid="log-level-filter">
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l === 'debug' ? 'all (debug and up)' : `${l} and up`}
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          placeholder="Search every log line…"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          data-testid="log-search"
        />
        <span className="muted" data-testid="log-count">
          {matches} of {entriesText(entries.length)}
        </span>
        <span className="spacer" />
        <CopyLink text={entries.map(entryText).join('\n')} label="Copy all" testId="copy-all" />
      </div>
      {entries.length === 0 && <p className="muted">No log lines yet.</p>}
      {sections.map((s) => {
        const isCollapsed = needle ? s.shown.length === 0 : (collapsed[s.task] ?? false);
        const visible = showAll[s.task] ? s.shown : s.shown.slice(0, RENDER_LIMIT);
        return (
          <section key={s.task} className="log-section" data-testid={`log-section-${s.task}`}>
            <header className="log-section-head">
              <button
                type="button"
                className="log-section-toggle"
                aria-expanded={!isCollapsed}
                onClick={() => setCollapsed({ ...collapsed, [s.task]: !isCollapsed })}
                data-testid={`log-section-toggle-${s.task}`}
              >
                <span className="caret">{isCollapsed ? '▸' : '▾'}</span>
                <strong>{s.task}</strong>
                <span className="muted">
                  {s.shown.length === s.all.length
                    ? entriesText(s.all.length)
                    : `${s.shown.length} of ${entriesText(s.all.length)}`}
                </span>
                {s.worst === 'error' || s.worst === 'warn' ? (
                  <span className={`log-level level-${s.worst}`}>{s.worst}</span>
                ) : null}
              </button>
              <span className="spacer" />
              <CopyLink text={s.all.map(entryText).join('\n')} label="copy section" testId={`copy-section-${s.task}`} />
            </header>
            {!isCollapsed && (
              <div className="log-lines">
                {visible.map((e) => (
                  <Fragment key={e.id}>
                    <LogLine entry={e} needle={needle} />
                  </Fragment>
                ))}
                {visible.length < s.shown.length && (
                  <button type="button" onClick={() => setShowAll({ ...showAll, [s.task]: true })}>
                    Show all {entriesText(s.shown.length)}
                  </button>
                )}
              </div>
            )}
          </section>
        );
      })}
    </div>
  );
}

/** The entry's time of day in the trader's clock, as the rest of the page shows times (the ISO time is the title). */
function localClock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const hms = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  return `${hms}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

const entriesText = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;
