/** Contract handlers for the webhooks capability. */
import type { Handlers } from '../api';
import { AppError } from '../platform';
import type { WebhookService } from './service';

type WebhookMethods =
  | 'webhooks.status'
  | 'webhooks.events'
  | 'webhooks.event'
  | 'webhooks.rejected'
  | 'webhooks.deadLetters'
  | 'webhooks.reprocess'
  | 'webhooks.sendTest'
  | 'webhooks.tradingViewSetup'
  | 'webhooks.gexTickers'
  | 'webhooks.gexLatest';

export function webhooksHandlers(service: WebhookService): Pick<Handlers, WebhookMethods> {
  return {
    'webhooks.status': () => service.status(),
    'webhooks.events': (input) =>
      service.inbox.list({
        source: input.source,
        topic: input.topic,
        symbol: input.symbol,
        status: input.status,
        from: input.from,
        to: input.to,
        before: input.before,
        limit: input.limit,
      }),
    'webhooks.event': ({ id }) => {
      const detail = service.inbox.detail(id);
      if (!detail) throw new AppError('NOT_FOUND', `No webhook event ${id}`, { status: 404 });
      return detail;
    },
    'webhooks.rejected': (input) => {
      service.rejected.flush();
      return service.rejected.list(input);
    },
    'webhooks.deadLetters': (input) => service.inbox.list({ status: 'dead', before: input.before, limit: input.limit }),
    'webhooks.reprocess': (input) => service.reprocess(input),
    'webhooks.sendTest': ({ kind }) => service.sendTest(kind),
    'webhooks.tradingViewSetup': ({ reveal }) => service.tradingViewSetup(reveal),
    'webhooks.gexTickers': () => service.gexTickers(),
    'webhooks.gexLatest': ({ ticker, category }) => service.gexLatest(ticker, category),
  };
}
