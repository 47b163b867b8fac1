/** JSON pretty-printed with syntax highlighting: keys, strings, numbers, booleans and null in their own colours. */
import type { ReactNode } from 'react';

const TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false)\b|\b(null)\b|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)/g;

export function highlightJson(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let i = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    const cls = m[1] ? (m[2] ? 'json-key' : 'json-string') : m[3] ? 'json-bool' : m[4] ? 'json-null' : 'json-number';
    out.push(
      <span key={i++} className={cls}>
        {m[1] ?? m[0]}
      </span>,
    );
    if (m[1] && m[2]) out.push(m[2]);
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function JsonView({ value, testId, className }: { value: unknown; testId?: string; className?: string }) {
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  return (
    <pre className={`json-view ${className ?? ''}`} data-testid={testId}>
      {highlightJson(text)}
    </pre>
  );
}
