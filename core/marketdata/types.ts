/** What the bar cache hands out: columns (typed arrays), never row objects, plus lineage. */
import type { BarSize, WhatToShow } from '../ibkr/types';

export interface BarColumns {
  /** Bar start, epoch ms UTC. */
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export const BAR_FIELDS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;
export type BarField = (typeof BAR_FIELDS)[number];

export interface BarLineage {
  symbol: string;
  barSize: BarSize;
  rowsFromCache: number;
  rowsFromIbkr: number;
  /** Sub-ranges that were requested from IBKR (epoch ms, [start, end)). */
  fetchedRanges: { start: number; end: number }[];
  /** Part of fetchedRanges that had been cached before and went stale (the stale tail). */
  staleRanges: { start: number; end: number }[];
  /** Sub-ranges the cache does not cover and that were not fetched (offline replay only). */
  missingRanges: { start: number; end: number }[];
  /** Oldest and newest fetched_at among the rows returned (ISO), null when empty. */
  fetchedAtMin: string | null;
  fetchedAtMax: string | null;
  /** 'cache-only' in debug mode (offline replay), 'always-fetch' when CACHE_ENABLED is false. */
  mode: 'cache' | 'cache-only' | 'always-fetch';
  /** True when no request went to IBKR (served wholly from the cache). */
  hit: boolean;
}

export interface GetOrFetchResult {
  columns: BarColumns;
  lineage: BarLineage;
}

export type CacheDataType = Exclude<WhatToShow, 'BID_ASK'>;

export interface GetOrFetchOptions {
  exchange?: string;
  whatToShow?: CacheDataType;
  useRTH?: boolean;
  signal?: AbortSignal;
  /** Overrides DEBUG_MODE for one call (the pipeline's debug runs). */
  offline?: boolean;
  /** Per-request progress from the source (after range splitting). */
  onProgress?: (p: { symbol: string; done: number; total: number; retrying?: string }) => void;
}

/** One cached series: everything that identifies a bar except its timestamp. */
export interface SeriesKey {
  symbol: string;
  exchange: string;
  dataType: CacheDataType;
  barSize: BarSize;
  useRTH: boolean;
}
