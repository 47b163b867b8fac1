/** Every capability's schema migrations, in the order they are applied. */
import * as gex from './gex';
import * as ibkr from './ibkr';
import * as imports from './imports';
import * as integrity from './integrity';
import * as marketdata from './marketdata';
import * as pipeline from './pipeline';
import * as runs from './runs';
import * as scheduler from './scheduler';
import type { StoreMigrations } from './storage';
import * as webhooks from './webhooks';

const capabilities = [ibkr, marketdata, gex, webhooks, runs, pipeline, scheduler, imports, integrity];

export const ALL_MIGRATIONS: StoreMigrations = {
  journal: capabilities.flatMap((c) => c.journalMigrations),
  warehouse: capabilities.flatMap((c) => c.warehouseMigrations),
};
