/** What the bar cache hands out: columns (typed arrays), never row objects, plus lineage. */
import type { BarSize } from '../ibkr/types';

export interface BarColumns {
  /** Bar start, epoch ms UTC. */
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export interface BarLineage {
  symbol: string;
  barSize: BarSize;
  rowsFromCache: number;
  rowsFromIbkr: number;
  /** Sub-ranges that were requested from IBKR (epoch ms, [start, end)). */
  fetchedRanges: { start: number; end: number }[];
  /** Oldest and newest fetched_at among the rows returned (ISO), null when empty. */
  fetchedAtMin: string | null;
  fetchedAtMax: string | null;
  /** 'cache-only' in debug mode (offline replay), 'always-fetch' when CACHE_ENABLED is false. */
  mode: 'cache' | 'cache-only' | 'always-fetch';
}

export interface GetOrFetchResult {
  columns: BarColumns;
  lineage: BarLineage;
}

export interface GetOrFetchOptions {
  exchange?: string;
  whatToShow?: 'TRADES' | 'MIDPOINT' | 'BID' | 'ASK' | 'ADJUSTED_LAST';
  useRTH?: boolean;
  signal?: AbortSignal;
  /** Overrides DEBUG_MODE for one call (the pipeline's debug runs). */
  offline?: boolean;
}
