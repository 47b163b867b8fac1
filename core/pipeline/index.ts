/** Public face of core/pipeline: the daily-bars workflow, its checks and indicators. */
import type { JournalMigration, WarehouseMigration } from '../storage';

export const journalMigrations: JournalMigration[] = [];
export const warehouseMigrations: WarehouseMigration[] = [
  {
    // What the pipeline last wrote into bars.indicators per series, so an unchanged series is not rewritten.
    id: 'pipeline/0001_indicator_writes',
    up: `
      CREATE TABLE pipeline_indicator_writes (
        symbol     VARCHAR   NOT NULL,
        exchange   VARCHAR   NOT NULL,
        data_type  VARCHAR   NOT NULL,
        bar_size   VARCHAR   NOT NULL,
        use_rth    BOOLEAN   NOT NULL,
        first_ts   TIMESTAMP NOT NULL,
        last_ts    TIMESTAMP NOT NULL,
        rows       BIGINT    NOT NULL,
        checksum   VARCHAR   NOT NULL,
        written_at TIMESTAMP NOT NULL,
        PRIMARY KEY (symbol, exchange, data_type, bar_size, use_rth)
      )`,
  },
];

export {
  encodeTransformed,
  IndicatorWriteBack,
  readSeries,
  type SeriesSelector,
  STORED_INDICATORS,
  type SymbolSeries,
  writeBackIndicators,
} from './bars-io';
export { type CompareRow, compareRuns, type RunComparison } from './compare';
export { computeIndicators, INDICATOR_FORMULAS, INDICATOR_NAMES, type IndicatorColumns } from './indicators';
export { type CheckResult, type SymbolReport, summarise, type ValidationReport, validateSymbol } from './validate';
export {
  type BarSourceLike,
  checksumColumns,
  type IbkrHealthLike,
  Pipeline,
  type PipelineDeps,
  type PipelineParams,
  type RunOutcome,
  TASKS,
  type TriggerRequest,
  WORKFLOW,
} from './workflow';
