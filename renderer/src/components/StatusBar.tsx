/** Bottom bar: store health, mode, debug badge, data folder. */
import { useApp } from '../stores/app';

export function StatusBar() {
  const status = useApp((s) => s.status);
  const error = useApp((s) => s.statusError);
  if (!status) {
    return (
      <footer className="statusbar" data-testid="status-bar">
        {error ? <span className="bad">Not connected to the workstation: {error}</span> : 'Connecting…'}
      </footer>
    );
  }
  // A failed poll means the workstation may be gone: the last known store health is no longer known.
  if (error) {
    return (
      <footer className="statusbar" data-testid="status-bar" data-connection="lost">
        <span className="bad" data-testid="store-warehouse">
          ● warehouse unknown
        </span>
        <span className="bad" data-testid="store-journal">
          ● journal unknown
        </span>
        <span className="bad">Lost the connection to the workstation ({error}); retrying every 5 s</span>
        <span className="spacer" />
        <span className="muted" title="Data folder">
          {status.dataDir}
        </span>
      </footer>
    );
  }
  const { warehouse, journal } = status.stores;
  return (
    <footer className="statusbar" data-testid="status-bar" data-connection="ok">
      <span className={warehouse.ok ? 'ok' : 'bad'} data-testid="store-warehouse" title={warehouse.error ?? warehouse.path}>
        ● warehouse {warehouse.ok ? 'ok' : 'error'}
      </span>
      <span className={journal.ok ? 'ok' : 'bad'} data-testid="store-journal" title={journal.error ?? journal.path}>
        ● journal {journal.ok ? 'ok' : 'error'}
      </span>
      {status.debugMode && <span className="badge badge-debug">DEBUG MODE · offline replay</span>}
      {status.demo && <span className="badge">DEMO gateway</span>}
      <span className="muted">{status.mode}</span>
      <span className="spacer" />
      <span className="muted" title="Data folder">
        {status.dataDir}
      </span>
      <span className="muted">v{status.app.version}</span>
    </footer>
  );
}
