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
  const { warehouse, journal } = status.stores;
  return (
    <footer className="statusbar" data-testid="status-bar">
      <span className={warehouse.ok ? 'ok' : 'bad'} data-testid="store-warehouse" title={warehouse.error ?? warehouse.path}>
        ● warehouse {warehouse.ok ? 'ok' : 'error'}
      </span>
      <span className={journal.ok ? 'ok' : 'bad'} data-testid="store-journal" title={journal.error ?? journal.path}>
        ● journal {journal.ok ? 'ok' : 'error'}
      </span>
      {status.debugMode && <span className="badge badge-debug">DEBUG MODE · offline replay</span>}
      {status.demo && <span className="badge">DEMO gateway</span>}
      <span className="muted">{status.mode}</span>
      {error && <span className="bad">{error}</span>}
      <span className="spacer" />
      <span className="muted" title="Data folder">
        {status.dataDir}
      </span>
      <span className="muted">v{status.app.version}</span>
    </footer>
  );
}
