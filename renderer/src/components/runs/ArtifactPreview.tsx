/**
 * Preview of one artifact: CSV/Parquet as a table (read by DuckDB), JSON highlighted; the first rows, then
 * "Load all" (up to 100,000 rows, rendered a window at a time), and how many rows the cap left out.
 */
import { useEffect, useRef, useState } from 'react';
import type { MethodOutput } from '../../../../core/api/browser';
import { api } from '../../api';
import { ArtifactTable } from './ArtifactTable';
import { JsonView } from './JsonView';

type Preview = MethodOutput<'artifacts.preview'>;

const count = (n: number) => n.toLocaleString('en-US');

/** What part of the file is shown. `all`: the preview came from "Load all", so `truncated` means the cap. */
function extentNote(preview: Preview, all: boolean): string {
  if (preview.format !== 'table') return preview.truncated ? 'first 512 KB' : 'whole file';
  const shown = preview.rows.length;
  const total = preview.totalRows;
  if (!preview.truncated) return `all ${count(shown)} rows`;
  if (all) return total === null ? `showing the first ${count(shown)} rows` : `showing ${count(shown)} of ${count(total)} rows`;
  return total === null ? `first ${count(shown)} rows` : `first ${count(shown)} of ${count(total)} rows`;
}

export function ArtifactPreview({ id }: { id: number }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [all, setAll] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  // Loading all takes seconds: an answer for an artifact no longer shown is dropped.
  const current = useRef(id);
  current.current = id;

  const load = async (loadAll: boolean) => {
    setLoading(true);
    try {
      const next = await api.call('artifacts.preview', { id, limit: 100, all: loadAll });
      if (current.current !== id) return;
      setPreview(next);
      setAll(loadAll);
      setError(null);
    } catch (err) {
      if (current.current === id) setError((err as Error).message);
    } finally {
      if (current.current === id) setLoading(false);
    }
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: reload only when the artifact changes
  useEffect(() => {
    setPreview(null);
    setAll(false);
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
        <span className="muted" data-testid="artifact-rows-note">
          {extentNote(preview, all)}
        </span>
        {preview.truncated && !all && (
          <button type="button" disabled={loading} onClick={() => void load(true)} data-testid="artifact-load-all">
            {loading ? 'Loading…' : preview.format === 'table' ? 'Load all (up to 100,000 rows)' : 'Load all'}
          </button>
        )}
      </div>
      {preview.format === 'table' && <ArtifactTable columns={preview.columns} rows={preview.rows} />}
      {preview.format === 'json' && <JsonView value={preview.json} testId="artifact-json" className="artifact-json" />}
      {preview.format === 'text' && <pre className="artifact-json">{preview.text}</pre>}
    </div>
  );
}
