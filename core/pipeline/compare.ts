/** Side-by-side comparison of two or more runs: params, tags, metrics and outputs, key by key. */
import type { RunDetail } from '../runs';

export interface CompareRow {
  section: 'run' | 'params' | 'tags' | 'metrics' | 'outputs';
  key: string;
  values: (string | number | boolean | null)[];
  differs: boolean;
}

export interface RunComparison {
  runIds: string[];
  rows: CompareRow[];
  /** Same row counts and checksums per symbol in every run (replay verdict). */
  sameData: boolean;
}

type Scalar = string | number | boolean | null;

function flatten(value: unknown, prefix: string, out: Record<string, Scalar>): void {
  if (value === null || value === undefined) {
    out[prefix] = null;
  } else if (Array.isArray(value)) {
    out[prefix] = value.every((v) => typeof v !== 'object') ? value.join(',') : JSON.stringify(value);
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = value as Scalar;
}

export function compareRuns(runs: RunDetail[]): RunComparison {
  const sections: [CompareRow['section'], (r: RunDetail) => Record<string, Scalar>][] = [
    ['run', (r) => ({ status: r.status, trigger: r.trigger, started: r.startedAt, duration_ms: r.durationMs, error: r.error })],
    ['params', (r) => flat(r.params)],
    ['tags', (r) => flat(r.tags)],
    ['metrics', (r) => r.latestMetrics],
    ['outputs', (r) => flat((r.outputs as { symbols?: unknown }).symbols ?? {})],
  ];
  const rows: CompareRow[] = [];
  for (const [section, pick] of sections) {
    const maps = runs.map(pick);
    const keys = [...new Set(maps.flatMap((m) => Object.keys(m)))].sort();
    for (const key of keys) {
      const values = maps.map((m) => (key in m ? m[key] : null));
      const differs = values.some((v) => v !== values[0]);
      rows.push({ section, key, values, differs });
    }
  }
  const dataRows = rows.filter((r) => r.section === 'outputs');
  const sameData = dataRows.length > 0 && dataRows.every((r) => !r.differs);
  return { runIds: runs.map((r) => r.id), rows, sameData };
}

function flat(v: unknown): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  flatten(v, '', out);
  return out;
}
