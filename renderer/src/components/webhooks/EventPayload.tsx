/** The selected event: what was stored, pretty-printed, with its processing state and a re-process action. */
import { useWebhooks } from '../../stores/webhooks';
import { CopyButton } from './CopyButton';
import { shortTime } from './time';

export function EventPayload() {
  const selectedId = useWebhooks((s) => s.selectedId);
  const detail = useWebhooks((s) => s.detail);
  const error = useWebhooks((s) => s.detailError);
  const select = useWebhooks((s) => s.select);
  const reprocess = useWebhooks((s) => s.reprocess);
  const busy = useWebhooks((s) => s.reprocessing);

  if (selectedId === null) {
    return (
      <section className="card payload" data-testid="event-payload-empty">
        <h2>Payload</h2>
        <p className="muted">Click an event in the feed to see its raw payload.</p>
      </section>
    );
  }
  const pretty = detail ? (detail.json !== null ? JSON.stringify(detail.json, null, 2) : detail.body) : '';
  return (
    <section className="card payload" data-testid="event-payload">
      <div className="card-head">
        <h2>
          Event #{selectedId}
          {detail && <span className="badge">{detail.status}</span>}
        </h2>
        <div className="actions">
          {detail && <CopyButton text={pretty} testId="copy-payload" />}
          <button
            type="button"
            data-testid="event-reprocess"
            disabled={busy || !detail}
            onClick={() => void reprocess({ ids: [selectedId] }).then(() => select(selectedId))}
          >
            Re-process
          </button>
          <button type="button" aria-label="Close payload" onClick={() => void select(null)}>
            ×
          </button>
        </div>
      </div>
      {error && <p className="bad">{error}</p>}
      {!detail && !error && <p className="muted">Loading…</p>}
      {detail && (
        <>
          <dl className="meta">
            <dt>Source</dt>
            <dd>
              {detail.source} <code>{detail.route}</code>
            </dd>
            <dt>Topic</dt>
            <dd>{detail.topic ?? '—'}</dd>
            <dt>Symbol</dt>
            <dd>{detail.symbol ?? '—'}</dd>
            <dt>Received</dt>
            <dd title={detail.receivedAt}>{shortTime(detail.receivedAt)}</dd>
            <dt>Processed</dt>
            <dd>{detail.processedAt ? `${shortTime(detail.processedAt)} → ${detail.table ?? '—'}` : 'not yet'}</dd>
            <dt>Content type</dt>
            <dd>{detail.contentType ?? '—'}</dd>
            <dt>Dedupe key</dt>
            <dd>
              <code className="truncate" title={detail.dedupeKey}>
                {detail.dedupeKey}
              </code>
            </dd>
            {detail.error && (
              <>
                <dt>Error</dt>
                <dd className="bad">
                  {detail.error} (attempt {detail.attempts})
                </dd>
              </>
            )}
          </dl>
          <pre className="payload-body" data-testid="event-payload-body">
            {pretty}
          </pre>
          {Object.keys(detail.headers).length > 0 && (
            <details>
              <summary className="muted">Headers</summary>
              <pre>{JSON.stringify(detail.headers, null, 2)}</pre>
            </details>
          )}
        </>
      )}
    </section>
  );
}
