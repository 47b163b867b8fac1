/** Dashboard: IBKR, webhooks, scheduler, cache, debug mode and disk at a glance; each card links to its page. */
import { type ReactNode, useEffect, useState } from 'react';
import { FirstRun } from '../components/dashboard/FirstRun';
import { bytes, clock, count, percent, relative } from '../components/dashboard/format';
import { type PageId, useApp } from '../stores/app';
import { followDashboard, useDashboard } from '../stores/dashboard';
import '../components/dashboard/dashboard.css';

function Card(props: { id: string; title: string; page: PageId; linkText: string; state?: ReactNode; children: ReactNode }) {
  const navigate = useApp((s) => s.navigate);
  return (
    <section className="card dash-card" data-testid={`card-${props.id}`}>
      <header>
        <h2>{props.title}</h2>
        {props.state}
      </header>
      {props.children}
      <footer>
        <a
          href={`#/${props.page}`}
          data-testid={`card-${props.id}-link`}
          onClick={(e) => {
            e.preventDefault();
            navigate(props.page);
          }}
        >
          {props.linkText} →
        </a>
      </footer>
    </section>
  );
}

function Row({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="dash-row">
      <span className="muted">{label}</span>
      <span data-testid={testId}>{children}</span>
    </div>
  );
}

/** ok: green, false: red, 'warn': amber (working, but degraded), null: not available. */
function Pill({ ok, children }: { ok: boolean | 'warn' | null; children: ReactNode }) {
  return <span className={`dash-pill ${ok === null ? 'muted' : ok === 'warn' ? 'warn' : ok ? 'ok' : 'bad'}`}>{children}</span>;
}

export default function DashboardPage() {
  const { summary, error, busy, refresh, act, setDebugMode, setPaused } = useDashboard();
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => followDashboard(), []);

  const run = async (p: Promise<string | null>) => setMessage(await p);

  if (!summary) {
    return (
      <section className="page" data-testid="page-dashboard">
        <h1>Dashboard</h1>
        <p className={error ? 'bad' : 'muted'}>{error ?? 'Loading…'}</p>
      </section>
    );
  }
  const { ibkr, webhooks, scheduler, cache, disk, actions } = summary;
  return (
    <section className="page" data-testid="page-dashboard" data-ready="true">
      <div className="page-header">
        <h1>
          Dashboard
          {summary.demo && <span className="badge">DEMO gateway</span>}
          {summary.debugMode && <span className="badge badge-debug">DEBUG MODE</span>}
        </h1>
        {message && (
          <span className="bad" data-testid="dashboard-message">
            {message}
          </span>
        )}
      </div>

      {summary.firstRun && <FirstRun host={ibkr.host} port={ibkr.port} />}

      <div className="cards">
        <Card
          id="ibkr"
          title="IBKR connection"
          page="settings"
          linkText="Connection settings"
          state={
            <Pill ok={!ibkr.available ? null : ibkr.connectivityLost ? 'warn' : ibkr.connected}>
              {ibkr.connectivityLost ? `${ibkr.status} · link lost (1100)` : ibkr.status}
            </Pill>
          }
        >
          <Row label="Gateway">
            <code>{`${ibkr.host}:${ibkr.port}`}</code>
          </Row>
          <Row label="Server version" testId="ibkr-server-version">
            {ibkr.serverVersion ?? '—'}
          </Row>
          <Row label="Accounts" testId="ibkr-accounts">
            {ibkr.accounts.length ? ibkr.accounts.join(', ') : '—'}
          </Row>
          {ibkr.connectivityLost && (
            <p className="warn small" data-testid="ibkr-notice" title={ibkr.lastNotice?.message}>
              IB Gateway lost its link to IBKR servers (1100)
              {ibkr.lastNotice?.at ? ` at ${clock(ibkr.lastNotice.at)}` : ''}; waiting for IBKR to restore it (1101/1102).
            </p>
          )}
          {ibkr.lastError &&
            (ibkr.lastErrorCurrent ? (
              <p className="bad small" data-testid="ibkr-last-error">
                {ibkr.lastError}
              </p>
            ) : (
              <p className="muted small" data-testid="ibkr-last-error" title={ibkr.lastErrorAt ?? ''}>
                last error at {clock(ibkr.lastErrorAt)}: {ibkr.lastError}
              </p>
            ))}
          <div className="actions">
            <button
              type="button"
              data-testid="ibkr-reconnect"
              disabled={!actions.reconnect || busy !== null || summary.debugMode}
              title={summary.debugMode ? 'Debug mode keeps IBKR offline' : undefined}
              onClick={() => void run(act('Reconnect', actions.reconnect, {}))}
            >
              Reconnect
            </button>
          </div>
        </Card>

        <Card
          id="webhooks"
          title="Webhook listener"
          page="webhooks"
          linkText="Webhooks"
          state={
            <Pill ok={webhooks.available ? webhooks.listening : null}>
              {webhooks.available ? (webhooks.listening ? 'listening' : 'stopped') : 'n/a'}
            </Pill>
          }
        >
          <Row label="Address" testId="webhooks-address">
            {webhooks.address ? <code>{webhooks.address}</code> : '—'}
          </Row>
          <Row label="Events today" testId="webhooks-today">
            {webhooks.eventsToday === 1000 ? '1,000+' : count(webhooks.eventsToday)}
          </Row>
          <Row label="Last event">
            <span title={webhooks.lastEventAt ?? ''}>{relative(webhooks.lastEventAt)}</span>
          </Row>
          <Row label="Rejected" testId="webhooks-rejected">
            <span className={webhooks.rejected ? 'warn' : undefined}>{count(webhooks.rejected)}</span>
          </Row>
          {webhooks.lastError && (
            <p className="bad small" data-testid="webhooks-error">
              {webhooks.lastError}
            </p>
          )}
        </Card>

        <Card
          id="scheduler"
          title="Scheduler"
          page="runs"
          linkText="Runs"
          state={<Pill ok={!scheduler.paused}>{scheduler.paused ? 'paused' : 'active'}</Pill>}
        >
          <Row label="Schedule">
            <code>{scheduler.schedule}</code> <span className="muted">{scheduler.timezone}</span>
          </Row>
          <Row label="Next run" testId="scheduler-next">
            <span title={scheduler.nextRunAt ?? ''}>{scheduler.paused ? 'paused' : relative(scheduler.nextRunAt)}</span>
          </Row>
          <Row label="Last run" testId="scheduler-last">
            {scheduler.lastRun ? (
              <span
                className={
                  scheduler.lastRun.status === 'failed' ? 'bad' : scheduler.lastRun.status === 'succeeded' ? 'ok' : undefined
                }
              >
                {scheduler.lastRun.status} <span className="muted">{relative(scheduler.lastRun.startedAt)}</span>
              </span>
            ) : (
              'none yet'
            )}
          </Row>
          <div className="actions">
            <button
              type="button"
              data-testid="scheduler-pause"
              disabled={busy !== null}
              onClick={() => void run(setPaused(!scheduler.paused))}
            >
              {scheduler.paused ? 'Resume' : 'Pause'}
            </button>
            <button
              type="button"
              data-testid="scheduler-run-now"
              disabled={!actions.runNow || busy !== null}
              onClick={() => void run(act('Run now', actions.runNow, {}))}
            >
              Run now
            </button>
          </div>
        </Card>

        <Card
          id="cache"
          title="Bar cache"
          page="market-data"
          linkText="Market data"
          state={<Pill ok={cache.enabled}>{cache.enabled ? 'enabled' : 'off'}</Pill>}
        >
          <Row label="Symbols" testId="cache-symbols">
            {count(cache.symbols)}
          </Row>
          <Row label="Rows" testId="cache-rows">
            {count(cache.rows)}
          </Row>
          <Row label="Hit rate" testId="cache-hit-rate">
            {percent(cache.hitRate)}
          </Row>
          <Row label="Last refresh">
            <span title={cache.lastRefreshAt ?? ''}>{relative(cache.lastRefreshAt)}</span>
          </Row>
          {refresh && (
            <div className="progress" data-testid="cache-refresh-progress" title={`${refresh.done}/${refresh.total}`}>
              <div style={{ width: `${refresh.total ? (100 * refresh.done) / refresh.total : 0}%` }} />
            </div>
          )}
          <div className="actions">
            <button
              type="button"
              className="primary"
              data-testid="cache-refresh-all"
              disabled={!actions.refreshCache || busy !== null || refresh !== null}
              onClick={() => void run(act('Refresh all', actions.refreshCache, {}))}
            >
              {refresh ? `Refreshing ${refresh.done}/${refresh.total}…` : 'Refresh all'}
            </button>
          </div>
        </Card>

        <Card
          id="debug"
          title="Debug mode"
          page="settings"
          linkText="Settings"
          state={summary.debugMode ? <span className="badge badge-debug">ON</span> : <Pill ok={null}>off</Pill>}
        >
          <p className="muted small">
            Replays from the cache only: nothing touches the network (IBKR, downloads), logs are verbose. A badge shows it across
            the app.
          </p>
          <label className="dash-toggle">
            <input
              type="checkbox"
              data-testid="debug-toggle"
              checked={summary.debugMode}
              disabled={busy !== null}
              onChange={(e) => void run(setDebugMode(e.target.checked))}
            />
            Debug mode
          </label>
        </Card>

        <Card
          id="disk"
          title="Data folder"
          page="artifacts"
          linkText="Artifacts"
          state={<span className="muted">{bytes(disk.usedBytes)}</span>}
        >
          <Row label="Folder">
            <code className="dash-path" title={disk.dataDir}>
              {disk.dataDir}
            </code>
          </Row>
          <Row label="Used" testId="disk-used">
            {bytes(disk.usedBytes)}
          </Row>
          <Row label="Free on disk" testId="disk-free">
            <span className={disk.freeBytes !== null && disk.freeBytes < 1024 ** 3 ? 'bad' : undefined}>
              {bytes(disk.freeBytes)}
            </span>
          </Row>
          <ul className="dash-parts">
            {disk.parts.slice(0, 5).map((p) => (
              <li key={p.name}>
                <span>{p.name}</span>
                <span className="muted">{bytes(p.bytes)}</span>
              </li>
            ))}
          </ul>
        </Card>
      </div>
    </section>
  );
}
