/** Shown while no IBKR connection has ever worked and nothing is cached: how to connect, or try the demo. */
export function FirstRun({ host, port }: { host: string; port: number }) {
  return (
    <section className="card first-run" data-testid="first-run">
      <h2>Connect Interactive Brokers</h2>
      <p>
        Marketdesk reads market data through the IBKR API of <b>TWS</b> or <b>IB Gateway</b> running on this machine. It is
        looking for one at <code>{`${host}:${port}`}</code> and has not reached it yet.
      </p>
      <ol>
        <li>Start TWS or IB Gateway and log in (a paper account is fine).</li>
        <li>
          TWS: <i>Edit → Global Configuration → API → Settings</i>; IB Gateway: <i>Configure → Settings → API → Settings</i>. Tick{' '}
          <b>Enable ActiveX and Socket Clients</b>, add <code>127.0.0.1</code> to <b>Trusted IPs</b>; <b>Read-Only API</b> may
          stay on (Marketdesk never places orders).
        </li>
        <li>
          Note the <b>Socket port</b>: TWS uses <code>7497</code> (paper) / <code>7496</code> (live), IB Gateway <code>4002</code>{' '}
          (paper) / <code>4001</code> (live). Set <code>IB_PORT</code> to match in{' '}
          {/* A plain hash link: the shell follows the address (popstate). */}
          <a href="#/settings" data-testid="first-run-settings">
            Settings
          </a>
          .
        </li>
      </ol>
      <p className="muted">
        No account at hand? Try the built-in <b>demo gateway</b>, a simulated IB Gateway with deterministic sample bars: start
        Marketdesk with <code data-testid="demo-command">marketdesk serve --demo</code> (or <code>npm run serve -- --demo</code>,
        or desktop: launch with <code>--demo</code>). Cached data, runs and webhooks work the same.
      </p>
    </section>
  );
}
