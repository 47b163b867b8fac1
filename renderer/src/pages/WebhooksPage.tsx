/**
 * Webhooks: is the listener up and the stream connected, what just arrived (live), what was refused and why,
 * what could not be processed (with re-process), how to point TradingView here, and the latest GEX by strike.
 */
import { useEffect, useState } from 'react';
import { EventPayload } from '../components/webhooks/EventPayload';
import { GexView } from '../components/webhooks/GexView';
import { LiveFeed } from '../components/webhooks/LiveFeed';
import { ProblemsCard } from '../components/webhooks/Problems';
import { ListenerCard, StreamCard } from '../components/webhooks/StatusCards';
import { TradingViewSetupCard } from '../components/webhooks/TradingViewSetup';
import { type TestKind, useWebhooks } from '../stores/webhooks';
import '../components/webhooks/webhooks.css';

const TEST_KINDS: { kind: TestKind; label: string }[] = [
  { kind: 'tradingview', label: 'TradingView alert' },
  { kind: 'uw', label: 'Unusual Whales flow alert' },
  { kind: 'gex', label: 'GEX snapshot' },
];

function SendTest() {
  const [kind, setKind] = useState<TestKind>('tradingview');
  const sending = useWebhooks((s) => s.sending);
  const result = useWebhooks((s) => s.testResult);
  const error = useWebhooks((s) => s.testError);
  const sendTest = useWebhooks((s) => s.sendTest);
  return (
    <div className="actions">
      {result && (
        <span
          className={result.status < 300 ? 'ok' : 'bad'}
          data-testid="send-test-result"
          title={`HTTP ${result.status}${result.id ? ` · event #${result.id}` : ''}`}
        >
          {result.status < 300 ? '✓' : '✗'} {result.message}
        </span>
      )}
      {error && (
        <span className="bad" data-testid="send-test-error">
          {error}
        </span>
      )}
      <select
        aria-label="Test event kind"
        data-testid="send-test-kind"
        value={kind}
        onChange={(e) => setKind(e.target.value as TestKind)}
      >
        {TEST_KINDS.map((k) => (
          <option key={k.kind} value={k.kind}>
            {k.label}
          </option>
        ))}
      </select>
      <button
        type="button"
        className="primary"
        data-testid="send-test-event"
        disabled={sending}
        onClick={() => void sendTest(kind)}
      >
        {sending ? 'Sending…' : 'Send test event'}
      </button>
    </div>
  );
}

export default function WebhooksPage() {
  const start = useWebhooks((s) => s.start);
  const message = useWebhooks((s) => s.message);
  useEffect(() => start(), [start]);

  return (
    <section className="page webhooks-page" data-testid="page-webhooks">
      <header className="page-header">
        <h1>Webhooks</h1>
        <SendTest />
      </header>
      {message && (
        <p className="muted" data-testid="webhooks-message">
          {message}
        </p>
      )}
      <div className="webhooks-top">
        <div className="webhooks-status-column">
          <ListenerCard />
          <StreamCard />
        </div>
        <TradingViewSetupCard />
      </div>
      <div className="webhooks-main">
        <LiveFeed />
        <EventPayload />
      </div>
      <ProblemsCard />
      <GexView />
    </section>
  );
}
