/** The ready-to-paste TradingView webhook URL and JSON alert message, with copy buttons. */
import { api } from '../../api';
import { useWebhooks } from '../../stores/webhooks';
import { CopyButton } from './CopyButton';

export function TradingViewSetupCard() {
  const setup = useWebhooks((s) => s.setup);
  const reveal = useWebhooks((s) => s.revealSecret);
  const loadSetup = useWebhooks((s) => s.loadSetup);
  return (
    <section className="card" data-testid="tradingview-setup">
      <h2>TradingView alert</h2>
      {!setup ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <div className="copy-block">
            <div className="copy-block-head">
              <span className="muted">Webhook URL</span>
              <div className="actions">
                {setup.secretConfigured && (
                  <button type="button" data-testid="tradingview-reveal" onClick={() => void loadSetup(!reveal)}>
                    {reveal ? 'Hide secret' : 'Reveal secret'}
                  </button>
                )}
                <CopyButton
                  text={setup.url}
                  testId="copy-tradingview-url"
                  // The shown URL masks the secret; TradingView needs the real one, so that is what is copied.
                  resolve={
                    setup.secretConfigured && !reveal
                      ? async () => (await api.call('webhooks.tradingViewSetup', { reveal: true })).url
                      : undefined
                  }
                />
              </div>
            </div>
            <code className="copy-value" data-testid="tradingview-url">
              {setup.url}
            </code>
          </div>
          {!reveal && setup.secretConfigured && (
            <p className="muted small">Copy puts the real URL, secret included, on the clipboard.</p>
          )}
          <div className="copy-block">
            <div className="copy-block-head">
              <span className="muted">Alert message (JSON)</span>
              <CopyButton text={setup.template} testId="copy-tradingview-template" />
            </div>
            <pre data-testid="tradingview-template">{setup.template}</pre>
          </div>
          {!setup.secretConfigured && (
            <p className="warn small">
              No WEBHOOK_SECRET: the listener only accepts local requests. Set one before using a tunnel.
            </p>
          )}
          {setup.notes.length > 0 && (
            <details className="notes small muted">
              <summary>How to use it</summary>
              <ul>
                {setup.notes.map((n) => (
                  <li key={n}>{n}</li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
    </section>
  );
}
