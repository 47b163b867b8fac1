/** The live feed: every event accepted into the inbox, newest first, with filters. Click a row for its payload. */
import { type FeedItem, useWebhooks } from '../../stores/webhooks';
import { rowActivation } from '../rowActivation';
import { shortTime } from './time';

const SOURCES = ['tradingview', 'uw', 'uw-stream', 'gex', 'gex_history_url', 'test'];
const STATUSES = ['pending', 'done', 'failed', 'dead'] as const;

export function FeedFilters() {
  const filters = useWebhooks((s) => s.filters);
  const setFilters = useWebhooks((s) => s.setFilters);
  const clearFilters = useWebhooks((s) => s.clearFilters);
  const active = Object.values(filters).some((v) => v !== '');
  return (
    <div className="filters" data-testid="feed-filters">
      <select
        aria-label="Source"
        data-testid="filter-source"
        value={filters.source}
        onChange={(e) => setFilters({ source: e.target.value })}
      >
        <option value="">All sources</option>
        {SOURCES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <input
        aria-label="Topic"
        data-testid="filter-topic"
        placeholder="Topic (flow-alerts, gex…)"
        value={filters.topic}
        onChange={(e) => setFilters({ topic: e.target.value })}
      />
      <input
        aria-label="Symbol"
        data-testid="filter-symbol"
        placeholder="Symbol"
        size={8}
        value={filters.symbol}
        onChange={(e) => setFilters({ symbol: e.target.value })}
      />
      <select
        aria-label="Status"
        data-testid="filter-status"
        value={filters.status}
        onChange={(e) => setFilters({ status: e.target.value as (typeof STATUSES)[number] | '' })}
      >
        <option value="">Any status</option>
        {STATUSES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      {active && (
        <button type="button" data-testid="filter-clear" onClick={clearFilters}>
          Clear
        </button>
      )}
    </div>
  );
}

function StatusBadge({ item }: { item: FeedItem }) {
  const cls = { pending: 'badge-warn', done: 'badge-ok', failed: 'badge-warn', dead: 'badge-bad' }[item.status];
  return (
    <span className={`badge ${cls}`} title={item.error ?? undefined} data-testid="feed-status">
      {item.status}
    </span>
  );
}

export function LiveFeed() {
  const feed = useWebhooks((s) => s.feed);
  const error = useWebhooks((s) => s.feedError);
  const selectedId = useWebhooks((s) => s.selectedId);
  const select = useWebhooks((s) => s.select);
  const filters = useWebhooks((s) => s.filters);
  const filtered = Object.values(filters).some((v) => v !== undefined && v !== '');
  return (
    <section className="card feed" data-testid="webhooks-feed">
      <div className="card-head">
        <h2>Live feed</h2>
        <FeedFilters />
      </div>
      {error && <p className="bad">{error}</p>}
      {feed.length === 0 ? (
        <p className="muted" data-testid="feed-empty">
          {filtered
            ? 'No events match these filters.'
            : 'No events yet. Send a test event, point a TradingView alert at the URL above, or turn on the Unusual Whales stream.'}
        </p>
      ) : (
        <div className="table-scroll">
          <table data-testid="feed-table">
            <thead>
              <tr>
                <th>Time</th>
                <th>Source</th>
                <th>Topic</th>
                <th>Symbol</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {feed.map((item) => (
                <tr
                  key={item.id}
                  data-testid="feed-row"
                  data-event-id={item.id}
                  data-source={item.source}
                  className={item.id === selectedId ? 'selected clickable' : 'clickable'}
                  {...rowActivation(() => void select(item.id))}
                >
                  <td title={item.receivedAt}>{shortTime(item.receivedAt)}</td>
                  <td>{item.source}</td>
                  <td>{item.topic ?? <span className="muted">—</span>}</td>
                  <td className="cell-clip" title={item.symbol ?? undefined}>
                    {item.symbol ?? <span className="muted">—</span>}
                  </td>
                  <td>
                    <StatusBadge item={item} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
