/** Two or more runs side by side, key by key, with a "show only differences" switch. */
import { useState } from 'react';
import { formatMetric } from '../../../../core/api/browser';
import { useRuns } from '../../stores/runs';

export function CompareView() {
  const comparison = useRuns((s) => s.comparison);
  const close = useRuns((s) => s.closeCompare);
  const [onlyDiff, setOnlyDiff] = useState(false);
  if (!comparison) return null;
  const rows = onlyDiff ? comparison.rows.filter((r) => r.differs) : comparison.rows;
  return (
    <div className="card compare" data-testid="compare-view">
      <div className="card-head">
        <h2>
          Compare {comparison.runIds.length} runs{' '}
          <span className={comparison.sameData ? 'ok' : 'warn'} data-testid="compare-verdict">
            {comparison.sameData ? 'same rows and checksums' : 'data differs'}
          </span>
        </h2>
        <div className="actions">
          <label>
            <input
              type="checkbox"
              checked={onlyDiff}
              onChange={(e) => setOnlyDiff(e.target.checked)}
              data-testid="compare-only-diff"
            />{' '}
            Show only differences
          </label>
          <button type="button" onClick={close}>
            Close
          </button>
        </div>
      </div>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th>section</th>
              <th>key</th>
              {comparison.runIds.map((id) => (
                <th key={id} className="mono">
                  {id}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.section}.${r.key}`} className={r.differs ? 'differs' : undefined} data-testid="compare-row">
                <td className="muted">{r.section}</td>
                <td className="mono">{r.key}</td>
                {r.values.map((v, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: one cell per compared run, in order
                  <td key={i} className="mono truncate" title={v === null ? '' : String(v)}>
                    {cellText(r.section, r.key, v)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** An ISO date-time (a run's start, a param such as `from` given with a time); plain dates stay as they are. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Metrics as the run detail shows them; times in the trader's clock, like the run list (the raw value is the cell's title). */
function cellText(section: string, key: string, v: string | number | boolean | null): string {
  if (v === null) return '—';
  if (section === 'metrics' && typeof v === 'number') return formatMetric(key, v);
  if (typeof v === 'string' && ISO_DATE_TIME.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return new Date(t).toLocaleString();
  }
  return String(v);
}
