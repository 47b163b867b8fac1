/** Listener and Unusual Whales stream status, side by side. */
import type { ReactNode } from 'react';
import { useWebhooks } from '../../stores/webhooks';
import { ago, shortTime } from './time';

function Row({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="kv-row">
      <span className="muted">{label}</span>
      <span data-testid={testId}>{children}</span>
    </div>
  );
}

export function ListenerCard() {
  const status = useWebhooks((s) => s.status);
  if (!status) {
    return (
      <section className="card" data-testid="webhooks-listener">
        <h2>Listener</h2>
        <p className="muted">Loading…</p>
      </section>
    );
  }
  const { inbox } = status;
  return (
    <section className="card" data-testid="webhooks-listener">
      <h2>
        Listener{' '}
        <span className={`badge ${status.listening ? 'badge-ok' : 'badge-bad'}`} data-testid="listener-state">
          {status.listening ? 'listening' : 'not listening'}
        </span>
      </h2>
      <Row label="Address" testId="listener-url">
        <code>{status.url ?? `${status.host}:${status.port ?? '—'}`}</code>
      </Row>
      <Row label="Authentication">
        {status.authMode === 'secret' ? (
          <span className="ok">WEBHOOK_SECRET set</span>
        ) : (
          <span className="warn" title="Set WEBHOOK_SECRET before exposing the port through a tunnel">
            loopback only (no secret)
          </span>
        )}
      </Row>
      <Row label="Events / min" testId="listener-rate">
        {status.eventsPerMinute}
      </Row>
      <Row label="Since start">
        {status.acceptedSinceStart} accepted · {status.duplicatesSinceStart} duplicates · {status.rejectedSinceStart} rejected
      </Row>
      <Row label="Last event">
        <span title={status.lastEventAt ?? ''}>{ago(status.lastEventAt)}</span>
      </Row>
      <Row label="Inbox" testId="listener-inbox">
        {inbox.done} done · {inbox.pending} pending · <span className={inbox.failed ? 'warn' : ''}>{inbox.failed} retrying</span>{' '}
        · <span className={inbox.dead ? 'bad' : ''}>{inbox.dead} dead</span>
      </Row>
      {(status.errors > 0 || status.lastError) && (
        <Row label="Errors">
          <span className="bad">
            {status.errors} {status.lastError ? `· ${status.lastError}` : ''}
          </span>
        </Row>
      )}
    </section>
  );
}

const STREAM_STATE_CLASS: Record<string, string> = {
  open: 'badge-ok',
  connecting: 'badge-warn',
  backoff: 'badge-bad',
  refused: 'badge-bad',
  stopped: '',
  disabled: '',
};

export function StreamCard() {
  const stream = useWebhooks((s) => s.stream);
  const reconnect = useWebhooks((s) => s.reconnectStream);
  return (
    <section className="card" data-testid="webhooks-stream">
      <h2>
        Unusual Whales stream{' '}
        {stream && (
          <span className={`badge ${STREAM_STATE_CLASS[stream.state] ?? ''}`} data-testid="stream-state">
            {stream.state}
          </span>
        )}
      </h2>
      {!stream?.enabled ? (
        <p className="muted">
          Off. Set <code>UW_API_TOKEN</code> and <code>UW_CHANNELS</code> (e.g. <code>flow-alerts,gex_strike:SPY</code>) in
          Settings to stream Unusual Whales into the inbox.
        </p>
      ) : (
        <>
          <Row label="URL">
            <code>{stream.url}</code>
          </Row>
          <Row label="Channels" testId="stream-channels">
            {stream.channels.map((c) => {
              const joined = stream.joinedChannels.includes(c);
              return (
                <span
                  key={c}
                  className={`chip${joined ? ' chip-on' : ''}`}
                  data-joined={joined}
                  title={joined ? 'joined' : 'not joined (yet): waiting for the server to acknowledge the join'}
                >
                  {c}
                </span>
              );
            })}
          </Row>
          <Row label="Frames" testId="stream-frames">
            {stream.framesReceived} received · {stream.framesAccepted} stored · {stream.framesDuplicate} duplicates ·{' '}
            <span className={stream.framesRejected ? 'warn' : ''}>{stream.framesRejected} rejected</span>
          </Row>
          <Row label="Last frame">
            <span title={stream.lastFrameAt ?? ''}>{ago(stream.lastFrameAt)}</span>
          </Row>
          <Row label="Reconnects">
            {stream.reconnectAttempts}
            {stream.nextRetryAt && stream.state === 'backoff' ? ` · next try ${shortTime(stream.nextRetryAt)}` : ''}
          </Row>
          {stream.lastError && (
            <Row label="Last error">
              <span className="bad" title={stream.lastErrorAt ?? ''} data-testid="stream-error">
                {stream.lastError}
              </span>
            </Row>
          )}
          {(stream.state === 'refused' || stream.state === 'backoff') && (
            <p>
              <button type="button" data-testid="stream-reconnect" onClick={() => void reconnect()}>
                Reconnect now
              </button>
            </p>
          )}
        </>
      )}
    </section>
  );
}
