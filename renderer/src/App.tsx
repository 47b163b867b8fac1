/** The shell: navigation, the current page, notices and the status bar. */
import { Suspense, useEffect } from 'react';
import { api } from './api';
import { Notices } from './components/Notices';
import { StatusBar } from './components/StatusBar';
import { PAGES } from './pages';
import { type PageId, useApp } from './stores/app';

export function App() {
  const page = useApp((s) => s.page);
  const navigate = useApp((s) => s.navigate);
  const refreshStatus = useApp((s) => s.refreshStatus);
  const notify = useApp((s) => s.notify);
  const debugMode = useApp((s) => s.status?.debugMode ?? false);

  useEffect(() => {
    void refreshStatus();
    const timer = setInterval(() => void refreshStatus(), 5000);
    const offSettings = api.on('settings.changed', () => void refreshStatus());
    const offNotice = api.on('system.notice', (n) => notify(n));
    // The desktop menu and notification clicks open pages.
    const offNavigate = api.on('desktop.navigate', ({ page }) => navigate(page as PageId));
    return () => {
      clearInterval(timer);
      offSettings();
      offNotice();
      offNavigate();
    };
  }, [refreshStatus, notify, navigate]);

  const Current = PAGES.find((p) => p.id === page)?.component ?? PAGES[0].component;
  return (
    <div className={`shell${debugMode ? ' debug' : ''}`} data-testid="app-shell">
      <nav className="sidebar" aria-label="Pages">
        <div className="brand">
          Marketdesk
          {debugMode && (
            <span className="badge badge-debug" data-testid="debug-badge">
              DEBUG MODE
            </span>
          )}
        </div>
        {PAGES.map((p) => (
          <a
            key={p.id}
            href={`#/${p.id}`}
            className={p.id === page ? 'active' : undefined}
            data-testid={`nav-${p.id}`}
            onClick={(e) => {
              e.preventDefault();
              navigate(p.id);
            }}
          >
            {p.title}
          </a>
        ))}
      </nav>
      <main className="content">
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Current />
        </Suspense>
      </main>
      <Notices />
      <StatusBar />
    </div>
  );
}
