/** The rejected log (requests refused, with the reason) and dead letters (stored, but processing gave up). */
import { Fragment, useState } from 'react';
import { useWebhooks } from '../../stores/webhooks';
import { rowActivation } from '../rowActivation';
import { shortTime } from './time';

/** The stored excerpt pretty-printed when it is whole JSON; as received otherwise (it may be cut at 2 KiB). */
function prettyExcerpt(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function ProblemsCard() {
  const [tab, setTab] = useState<'rejected' | 'dead'>('rejected');
  const rejected = useWebhooks((s) => s.rejected);
  const dead = useWebhooks((s) => s.dead);
  const loadRejected = useWebhooks((s) => s.loadRejected);
  const loadDead = useWebhooks((s) => s.loadDead);
  return (
    <section className="card" data-testid="webhooks-problems">
      <div className="card-head">
        <div className="tabs" role="tablist">
          <button
            type="button"
            role="tab"
            aria-selected={tab === 'rejected'}
            className={tab === 'rejected' ? 'tab active' : 'tab'}
            data-testid="tab-rejected"
            onClick={() => setTab('rejected')}
          >
            Rejected <span className="badge">{rejected.length}</span>
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={tab === 'dead'}
            className={tab === 'dead' ? 'tab active' : 'tab'}
            data-testid="tab-dead"
            onClick={() => setTab('dead')}
          >
            Dead letters <span className={`badge${dead.length ? ' badge-bad' : ''}`}>{dead.length}</span>
          </button>
        </div>
        <button
          type="button"
          data-testid="problems-refresh"
          onClick={() => void (tab === 'rejected' ? loadRejected() : loadDead())}
        >
          Refresh
        </button>
      </div>
      {tab === 'rejected' ? <RejectedLog /> : <DeadLetters />}
    </section>
  );
}

function RejectedLog() {
  const rejected = useWebhooks((s) => s.rejected);
  const [open, setOpen] = useState<number | null>(null);
  if (rejected.length === 0) return <p className="muted">Nothing rejected.</p>;
  return (
    <div className="table-scroll">
      <table data-testid="rejected-table">
        <thead>
          <tr>
            <th>Time</th>
            <th>Route</th>
            <th>From</th>
            <th>Answer</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {rejected.map((r) => (
            <Fragment key={r.id}>
              <tr data-testid="rejected-row" className="clickable" {...rowActivation(() => setOpen(open === r.id ? null : r.id))}>
                <td title={r.receivedAt}>{shortTime(r.receivedAt)}</td>
                <td>
                  <code>{r.route}</code>
                </td>
                <td>{r.remote ?? '—'}</td>
                <td>
                  <span className="badge badge-bad">{r.status}</span> <code>{r.code}</code>
                </td>
                <td>{r.message}</td>
              </tr>
              {open === r.id && (
                <tr className="detail-row">
                  <td colSpan={5}>
                    {r.issues.length > 0 && (
                      <ul className="issues">
                        {r.issues.map((i) => (
                          <li key={`${i.path.join('.')}:${i.message}`}>
                            <code>{i.path.join('.') || '(body)'}</code>: {i.message}
                            {i.hint && !i.hint.includes(i.message) ? <span className="muted"> — {i.hint}</span> : null}
                          </li>
                        ))}
                      </ul>
                    )}
                    <div className="muted small">
                      {r.contentType ?? 'no content type'} · {r.bodySize} bytes
                    </div>
                    {r.bodyExcerpt && <pre className="excerpt">{prettyExcerpt(r.bodyExcerpt)}</pre>}
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeadLetters() {
  const dead = useWebhooks((s) => s.dead);
  const reprocess = useWebhooks((s) => s.reprocess);
  const select = useWebhooks((s) => s.select);
  const busy = useWebhooks((s) => s.reprocessing);
  if (dead.length === 0)
    return <p className="muted">No dead letters: every stored event was processed or is still being retried.</p>;
  return (
    <>
      <div className="actions">
        <button type="button" data-testid="reprocess-all-dead" disabled={busy} onClick={() => void reprocess({ allDead: true })}>
          Re-process all ({dead.length})
        </button>
      </div>
      <div className="table-scroll">
        <table data-testid="dead-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Source</th>
              <th>Topic</th>
              <th>Attempts</th>
              <th>Reason</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {dead.map((d) => (
              <tr key={d.id} data-testid="dead-row">
                <td title={d.receivedAt}>{shortTime(d.receivedAt)}</td>
                <td>{d.source}</td>
                <td>{d.topic ?? '—'}</td>
                <td>{d.attempts}</td>
                <td className="bad">{d.error}</td>
                <td className="actions">
                  <button type="button" onClick={() => void select(d.id)}>
                    Payload
                  </button>
                  <button
                    type="button"
                    data-testid="dead-reprocess"
                    disabled={busy}
                    onClick={() => void reprocess({ ids: [d.id] })}
                  >
                    Re-process
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
