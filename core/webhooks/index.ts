/**
 * Public face of core/webhooks: the listener (own port), auth, the durable WebhookInbox (group
 * commit), the processor into warehouse tables, the rejected log, dead letters and replay.
 *
 * Stream frames (Unusual Whales WebSocket) enter through `WebhookService.ingestUwFrame(frame)` /
 * `uwFrameSink()` — the same validation, dedupe and inbox as `POST /uw`.
 */
import type { JournalMigration, WarehouseMigration } from '../storage';
import { INBOX_JOURNAL_SQL } from './inbox';
import { WEBHOOK_WAREHOUSE_SQL } from './normalise';

export { webhooksHandlers } from './api-handlers';
export { secretEquals, signingKey, signStandardWebhook, verifyStandardWebhook } from './auth';
export { type InboxAppend, type InboxAppendResult, type InboxRow, WebhookInbox } from './inbox';
export { IngestError, type IngestMeta, type IngestResult, WebhookIngest } from './ingest';
export { checkPublicUrl } from './net';
export { parseOccSymbol, resolveUw, toEpochMs, UW_TOPICS, type UwEvent } from './payloads';
export { WebhookProcessor } from './processor';
export { RejectedLog } from './rejected';
export { type UwFrame, type UwFrameOutcome, WebhookService, type WebhookServiceDeps } from './service';
export { type UwFrameSink, UwStreamConnector, type UwStreamFrame, type UwStreamStatus } from './uw-stream';
export { UwStreamService, uwStreamHandlers } from './uw-stream-service';

export const journalMigrations: JournalMigration[] = [
  { id: 'webhooks/0001_inbox_rejected_dedupe', up: INBOX_JOURNAL_SQL },
  // Events stored before the listener masked the /tradingview/<token> route kept the secret in it.
  {
    id: 'webhooks/0002_mask_tradingview_route_tokens',
    up: "UPDATE webhook_inbox SET route = '/tradingview/********' || substr(route, instr(route || '?', '?')) WHERE route LIKE '/tradingview/%' AND route NOT LIKE '/tradingview/********%'",
  },
];

export const warehouseMigrations: WarehouseMigration[] = [{ id: 'webhooks/0001_event_tables', up: WEBHOOK_WAREHOUSE_SQL }];
