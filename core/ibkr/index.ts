/** Public face of core/ibkr: the IBKR connection, pacing, the historical source and the simulated gateway. */
import type { JournalMigration, WarehouseMigration } from '../storage';

export const journalMigrations: JournalMigration[] = [];
export const warehouseMigrations: WarehouseMigration[] = [];

export {
  type HistoricalQuery,
  type IbBar,
  IbkrConnection,
  type IbkrConnectionOptions,
  type IbkrNotice,
  type IbkrState,
  type IbkrStatus,
  type ResolvedContract,
  type StatusListener,
} from './connection';
export {
  BAR_SIZE_MS,
  durationString,
  formatEndDateTime,
  formatYmd,
  isBarSize,
  isSmallBar,
  maxDuration,
  parseBarTime,
  parseDuration,
  type RangePiece,
  splitRange,
} from './durations';
export { IBKR_ERROR_CODES, type IbkrErrorContext, ibkrErrorFor, isRetryableIbkrError } from './errors';
export { type HistoricalSourceOptions, type HistoricalSourceStats, IbkrHistoricalSource, toRawBar } from './historical';
export { PacingLimiter, type PacingOptions, type PacingRequest, type PacingStats, pacingRequest, type Release } from './pacing';
export { DEMO_SIMULATOR_OPTIONS, IbkrService, type IbkrServiceOptions } from './service';
export {
  IbGatewaySimulator,
  SIM_MESSAGES,
  type SimRequest,
  type SimRequestType,
  type SimulatorOptions,
  type SimulatorStats,
} from './simulator';
export {
  BAR_SIZES,
  type BarSize,
  type HistoricalBarsRequest,
  type HistoricalFetchProgress,
  type HistoricalSource,
  IbkrError,
  type RawBar,
  type WhatToShow,
} from './types';
