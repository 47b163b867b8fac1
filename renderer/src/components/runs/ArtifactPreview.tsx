/** Preview of one artifact: CSV/Parquet as a table (read by DuckDB), JSON highlighted; the first rows, then "Load all". */
import { useEffect, useState } from 'react';
import type { MethodOutput } from '../../../../core/api/browser';
import { api } from '../../api';
import { JsonView } from './JsonView';

type Preview = MethodOutput<'artifacts.preview'>;

function formatCell(v: string | number | boolean | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(8).replace(/0+$/, '').replace(/\.$/, '');
  return String(v);
}

export function ArtifactPreview({ id }: { id: number }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (all: boolean) => {
    setLoading(true);
    try {
      setPreview(await api.call('artifacts.preview', { id, limit: 100, all }));
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setLoading(false);
    }
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: reload only when the artifact changes
  useEffect(() => {
    setPreview(null);
    void load(false);
  }, [id]);

  if (error)
    return (
      <p className="bad" data-testid="artifact-preview-error">
        {error}
      </p>
    );
  if (!preview) return <p className="muted">Loading preview…</p>;
  return (
    <div className="artifact-preview" data-testid="artifact-preview">
      <div className="actions">
        <span className="muted">
          {preview.format === 'table'
            ? `${preview.rows.length} of ${preview.totalRows ?? '?'} rows`
            : preview.truncated
              ? 'first 512 KB'
              : 'whole file'}
        </span>
        {preview.truncated && (
          <button type="button" disabled={loading} onClick={() => void load(true)} data-testid="artifact-load-all">
            {loading ? 'Loading…' : preview.format === 'table' ? 'Load all (up to 100,000 rows)' : 'Load all'}
          </button>
        )}
      </div>
      {preview.format === 'table' && (
        <div className="table-scroll">
          <table className="artifact-table" data-testid="artifact-table">
            <thead>
              <tr>
                {preview.columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {preview.rows.map((r, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity beyond their position
                <tr key={i}>
                  {r.map((v, j) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional
                    <td key={j} className="mono">
                      {formatCell(v)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {preview.format === 'json' && <JsonView value={preview.json} testId="artifact-json" className="artifact-json" />}
      {preview.format === 'text' && <pre className="artifact-json">{preview.text}</pre>}
    </div>
  );
}
