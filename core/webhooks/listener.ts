/**
 * The webhook listener: its own fastify server (never the control API's port). Cheap refusals
 * first (rate, allowlist — before the body is read), then size/content type (fastify), then auth,
 * then the route's payload check, then the inbox append; the 2xx is sent only after the commit.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AppError, type Clock, errorMessage, type Logger } from '../platform';
import { bearerToken, hasSignatureHeaders, secretEquals, verificationKeys, verifyStandardWebhook } from './auth';
import { BodyDecodeError, bodyText, declaredCharset, decodeBody } from './body';
import { IngestError, type IngestMeta, type IngestResult, type WebhookIngest } from './ingest';
import { type Allowlist, clientAddress, hasForwardingHeaders, isLoopbackAddress } from './net';
import { type FieldIssue, jsonNestingExceeds, MAX_JSON_DEPTH } from './payloads';
import { TokenBuckets } from './rate-limit';
import type { RejectedLog } from './rejected';

export interface ListenerSettings {
  secret: string;
  allowlist: Allowlist;
  ratePerSecond: number;
  bodyLimit: number;
}

export interface ListenerHooks {
  onAccepted(result: IngestResult, duplicate: boolean, at: number): void;
  onError(message: string): void;
}

const KEPT_HEADERS = ['content-type', 'user-agent', 'x-forwarded-for', 'cf-connecting-ip', 'webhook-id', 'webhook-timestamp'];

type Req = FastifyRequest<{ Params: { token?: string }; Body: Buffer | undefined }>;

interface Ctx {
  source: string;
  route: string;
  remote: string;
  receivedAt: number;
}

export function routeSource(url: string): string {
  const path = url.split('?')[0];
  if (path.startsWith('/tradingview')) return 'tradingview';
  if (path === '/uw') return 'uw';
  if (path === '/gex') return 'gex';
  if (path === '/gex_history_url') return 'gex_history_url';
  return 'unknown';
}

export function buildListener(deps: {
  ingest: WebhookIngest;
  rejected: RejectedLog;
  settings: () => ListenerSettings;
  clock: Clock;
  logger: Logger;
  hooks: ListenerHooks;
  /** Sent by the app's own "send test event" in `x-marketdesk-test` (random per process). */
  testToken: string;
}): FastifyInstance {
  const { ingest, rejected, clock, logger, hooks } = deps;
  const initial = deps.settings();
  const app = Fastify({
    logger: false,
    bodyLimit: initial.bodyLimit,
    connectionTimeout: 15_000,
    keepAliveTimeout: 5_000,
    requestTimeout: 5_000,
    // A pasted URL with a trailing slash (/tradingview/<secret>/) is the same route.
    routerOptions: { maxParamLength: 512, ignoreTrailingSlash: true },
    return503OnClosing: true,
  });
  app.server.headersTimeout = 5_000;
  const buckets = new TokenBuckets(initial.ratePerSecond, initial.ratePerSecond * 2);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer' }, (req, body, done) => {
    try {
      (req as unknown as { mdCharset?: string | null }).mdCharset = declaredCharset(req.headers['content-type']);
      done(null, decodeBody(req.headers['content-encoding'], body as Buffer, deps.settings().bodyLimit));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  /** The app's own test event: from this machine, not forwarded, carrying this process's test token. */
  const isTestRequest = (req: FastifyRequest): boolean => {
    const token = req.headers['x-marketdesk-test'];
    return (
      typeof token === 'string' &&
      isLoopbackAddress(req.socket.remoteAddress) &&
      !hasForwardingHeaders(req.headers) &&
      secretEquals(token, deps.testToken)
    );
  };

  const ctxOf = (req: FastifyRequest): Ctx => {
    const c = (req as unknown as { mdCtx?: Ctx }).mdCtx;
    if (c) return c;
    const made: Ctx = {
      source: routeSource(req.url),
      route: req.url.split('?')[0].slice(0, 200),
      remote: clientAddress(req.socket.remoteAddress, req.headers),
      receivedAt: clock.now(),
    };
    (req as unknown as { mdCtx?: Ctx }).mdCtx = made;
    return made;
  };

  const refuse = (
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    code: string,
    message: string,
    issues: FieldIssue[] = [],
    body?: Buffer,
  ) => {
    const ctx = ctxOf(req);
    const secret = deps.settings().secret;
    // The secret can be anywhere a sender put it: the body, a mistyped route (/TradingView/<secret>/…).
    const mask = (text: string) => (secret && text.includes(secret) ? text.split(secret).join('********') : text);
    const excerpt = mask(body ? body.subarray(0, 2048).toString('utf8') : '');
    message = mask(message);
    rejected.record({
      receivedAt: ctx.receivedAt,
      route: mask(redactedRoute(ctx.route)),
      source: ctx.source,
      remote: ctx.remote,
      status,
      code,
      message,
      issues,
      contentType: (req.headers['content-type'] as string | undefined) ?? null,
      bodySize: body?.length ?? Number(req.headers['content-length'] ?? 0),
      bodyExcerpt: excerpt,
    });
    return reply.code(status).send({ ok: false, error: { code, status, message, issues } });
  };

  app.addHook('onRequest', async (req, reply) => {
    const ctx = ctxOf(req);
    const s = deps.settings();
    buckets.configure(s.ratePerSecond, s.ratePerSecond * 2);
    const take = buckets.take(`${ctx.source}|${ctx.remote}`, ctx.receivedAt);
    if (!take.ok) {
      reply.header('Retry-After', String(take.retryAfterSeconds));
      return refuse(
        req,
        reply,
        429,
        'rate_limited',
        `More than ${s.ratePerSecond} requests/s from ${ctx.remote} to ${ctx.source}`,
        [{ path: [], message: 'rate limit exceeded', hint: `retry after ${take.retryAfterSeconds}s` }],
      );
    }
    // The allowlist is about who may reach the port from outside; the app's own test event is not that.
    if (ctx.source === 'tradingview' && !s.allowlist.allows(ctx.remote) && !isTestRequest(req)) {
      return refuse(req, reply, 403, 'ip_not_allowed', `${ctx.remote} is not in WEBHOOK_ALLOWLIST`);
    }
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (err instanceof BodyDecodeError) return refuse(req, reply, err.statusCode, err.refusal, err.message, err.issues);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
      return refuse(req, reply, 415, 'unsupported_media_type', 'Content-Type must be application/json or text/plain', [
        {
          path: ['content-type'],
          message: `got ${req.headers['content-type'] ?? 'none'}`,
          hint: 'send Content-Type: application/json',
        },
      ]);
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      return refuse(req, reply, 413, 'body_too_large', `Body larger than ${deps.settings().bodyLimit} bytes`, [
        { path: [], message: 'body too large', hint: `keep bodies under ${deps.settings().bodyLimit} bytes` },
      ]);
    }
    if (status >= 400 && status < 500) {
      return refuse(req, reply, status, (err.code ?? 'bad_request').toLowerCase(), err.message);
    }
    hooks.onError(errorMessage(err));
    logger.error('webhook listener error', { error: errorMessage(err), route: redactedRoute(ctxOf(req).route) });
    return reply.code(500).send({ ok: false, error: { code: 'internal', status: 500, message: 'internal error' } });
  });

  app.setNotFoundHandler((req, reply) =>
    refuse(req, reply, 404, 'not_found', `No webhook route ${req.method} ${ctxOf(req).route}`, [
      { path: [], message: 'unknown route', hint: 'POST to /tradingview/<token>, /uw, /gex or /gex_history_url' },
    ]),
  );

  app.get('/health', async () => ({ ok: true }));

  /** Shared-secret / signature auth. Returns the verified webhook-id, if any, or sends the refusal. */
  const authenticate = (
    req: Req,
    reply: FastifyReply,
    body: Buffer,
    options: { pathToken?: string; queryToken?: string; bodySecret?: () => boolean } = {},
  ): { ok: true; signedId?: string } | { ok: false } => {
    const { secret } = deps.settings();
    if (!secret) {
      if (isLoopbackAddress(req.socket.remoteAddress) && !hasForwardingHeaders(req.headers)) return { ok: true };
      refuse(
        req,
        reply,
        401,
        'no_secret_configured',
        'WEBHOOK_SECRET is not set: only local, un-forwarded requests are accepted',
        [],
        body,
      );
      return { ok: false };
    }
    if (options.pathToken !== undefined) {
      if (secretEquals(options.pathToken, secret)) return { ok: true };
      refuse(req, reply, 401, 'bad_token', 'The token in the URL does not match WEBHOOK_SECRET', [], body);
      return { ok: false };
    }
    if (options.queryToken !== undefined) {
      if (secretEquals(options.queryToken, secret)) return { ok: true };
      refuse(req, reply, 401, 'bad_token', 'The secret in the URL query does not match WEBHOOK_SECRET', [], body);
      return { ok: false };
    }
    const bearer = bearerToken(req.headers.authorization);
    // A bearer token with a forwarded `webhook-id` (an idempotency key some bridges pass on) but no signature is bearer auth.
    if (hasSignatureHeaders(req.headers) && (bearer === undefined || req.headers['webhook-signature'] !== undefined)) {
      const check = verifyStandardWebhook(verificationKeys(secret), req.headers, body, clock.now());
      if (check.ok) return { ok: true, signedId: check.id };
      refuse(req, reply, 401, check.code, check.message, [], body);
      return { ok: false };
    }
    if (bearer !== undefined) {
      if (secretEquals(bearer, secret)) return { ok: true };
      refuse(req, reply, 401, 'bad_token', 'The bearer token does not match WEBHOOK_SECRET', [], body);
      return { ok: false };
    }
    if (options.bodySecret?.()) return { ok: true };
    refuse(
      req,
      reply,
      401,
      'auth_required',
      options.bodySecret
        ? 'Put the secret in the URL (/tradingview/<secret>) or a "secret", "passphrase" or "key" field of the JSON body'
        : 'Sign with Standard Webhooks (webhook-id/-timestamp/-signature) or send Authorization: Bearer <secret>',
      [],
      body,
    );
    return { ok: false };
  };

  const metaOf = (req: Req, ctx: Ctx, signedId?: string): IngestMeta => {
    const headers: Record<string, string> = {};
    for (const h of KEPT_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v.slice(0, 500);
    }
    headers['x-peer'] = req.socket.remoteAddress ?? '';
    headers['x-client'] = ctx.remote;
    return {
      source: isTestRequest(req) ? 'test' : ctx.source,
      route: redactedRoute(ctx.route) + storedQuery(req.url),
      headers,
      contentType: (req.headers['content-type'] as string | undefined) ?? null,
      receivedAt: ctx.receivedAt,
      signedId,
    };
  };

  const finish = async (req: Req, reply: FastifyReply, body: Buffer, run: () => Promise<IngestResult>) => {
    try {
      const res = await run();
      hooks.onAccepted(res, res.duplicate, ctxOf(req).receivedAt);
      const payload: Record<string, unknown> = { ok: true, id: res.id, duplicate: res.duplicate };
      if (res.jobId) payload.jobId = res.jobId;
      return reply.code(res.duplicate ? 200 : 202).send(payload);
    } catch (err) {
      if (err instanceof IngestError) return refuse(req, reply, err.status, err.code, err.message, err.issues, body);
      if (err instanceof AppError && err.status === 409) {
        return refuse(
          req,
          reply,
          409,
          'duplicate_conflict',
          err.message,
          [
            {
              path: [],
              message: `an event with the key ${(err.details as { dedupeKey?: string } | undefined)?.dedupeKey ?? '(unknown)'} was stored with different content`,
              hint: 'a new event needs a new id (or, for GEX, a new timestamp)',
            },
          ],
          body,
        );
      }
      if (err instanceof AppError && err.status === 503) {
        hooks.onError(err.message);
        reply.header('Retry-After', '1');
        return reply.code(503).send({ ok: false, error: { code: 'store_unavailable', status: 503, message: err.message } });
      }
      throw err;
    }
  };

  const textOf = (req: FastifyRequest, body: Buffer): string =>
    bodyText(body, (req as unknown as { mdCharset?: string | null }).mdCharset ?? null);

  const requireBody = (req: Req, reply: FastifyReply): Buffer | null => {
    const body = req.body;
    if (!body || body.length === 0) {
      refuse(req, reply, 400, 'empty_body', 'The request has no body', [
        { path: [], message: 'empty body', hint: 'send a JSON body' },
      ]);
      return null;
    }
    return body;
  };

  const parseJson = (req: Req, reply: FastifyReply, body: Buffer): { ok: true; value: unknown } | { ok: false } => {
    const text = textOf(req, body);
    if (jsonNestingExceeds(text)) {
      refuse(
        req,
        reply,
        400,
        'json_too_deep',
        `The JSON nests deeper than ${MAX_JSON_DEPTH} levels`,
        [{ path: [], message: `more than ${MAX_JSON_DEPTH} nested objects/arrays`, hint: 'flatten the payload' }],
        body,
      );
      return { ok: false };
    }
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (err) {
      refuse(
        req,
        reply,
        400,
        'invalid_json',
        'The body is not valid JSON',
        [{ path: [], message: errorMessage(err), hint: 'send valid JSON' }],
        body,
      );
      return { ok: false };
    }
  };

  const tradingView = async (req: Req, reply: FastifyReply) => {
    // An empty text alert is still an alert that fired: text bodies are never refused for their content.
    const emptyText = (!req.body || req.body.length === 0) && isTextPlain(req);
    const body = emptyText ? Buffer.alloc(0) : requireBody(req, reply);
    if (!body) return reply;
    const text = textOf(req, body);
    const token = req.params.token;
    const auth = authenticate(req, reply, body, {
      pathToken: token,
      queryToken: token === undefined ? querySecret(req.url) : undefined,
      bodySecret: () => {
        if (!text.trimStart().startsWith('{')) return false;
        try {
          const json = JSON.parse(text) as Record<string, unknown>;
          const { secret } = deps.settings();
          // Every candidate is compared (no short-circuit) so timing does not say which field matched.
          const hits = ['secret', 'passphrase', 'key'].map((f) => secretEquals(json[f], secret));
          return hits.some(Boolean);
        } catch {
          return false;
        }
      },
    });
    if (!auth.ok) return reply;
    const ctx = ctxOf(req);
    const meta = { ...metaOf(req, ctx, auth.signedId), secret: deps.settings().secret || undefined };
    return finish(req, reply, body, () => ingest.tradingView(text, meta));
  };

  app.post('/tradingview/:token', tradingView);
  app.post('/tradingview', tradingView);

  const jsonRoute =
    (run: (value: unknown, raw: string, meta: IngestMeta) => Promise<IngestResult>, options: { textIsValue?: boolean } = {}) =>
    async (req: Req, reply: FastifyReply) => {
      const body = requireBody(req, reply);
      if (!body) return reply;
      const auth = authenticate(req, reply, body);
      if (!auth.ok) return reply;
      const raw = textOf(req, body);
      let value: unknown;
      if (isTextPlain(req) && options.textIsValue && !raw.trimStart().startsWith('{')) value = raw;
      else {
        const parsed = parseJson(req, reply, body);
        if (!parsed.ok) return reply;
        value = parsed.value;
      }
      return finish(req, reply, body, () => run(value, raw, metaOf(req, ctxOf(req), auth.signedId)));
    };

  app.post(
    '/uw',
    jsonRoute((v, raw, meta) => ingest.uw(v, raw, meta)),
  );
  app.post(
    '/gex',
    jsonRoute((v, raw, meta) => ingest.gex(v, raw, meta)),
  );
  app.post(
    '/gex_history_url',
    jsonRoute((v, raw, meta) => ingest.historyUrl(v, raw, meta), { textIsValue: true }),
  );

  return app;
}

function isTextPlain(req: FastifyRequest): boolean {
  return String(req.headers['content-type'] ?? '')
    .toLowerCase()
    .startsWith('text/plain');
}

/** Names a secret may travel under in a TradingView URL's query (`/tradingview?secret=…`). */
const QUERY_SECRET_FIELDS = ['secret', 'passphrase', 'key', 'token'];

function querySecret(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const f of QUERY_SECRET_FIELDS) {
    const v = params.get(f);
    if (v !== null) return v;
  }
  return undefined;
}

/** The query kept with the event (up to 200 characters), with any secret in it removed. */
function storedQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return '';
  const params = new URLSearchParams(url.slice(q + 1));
  for (const f of QUERY_SECRET_FIELDS) params.delete(f);
  const rest = params.toString();
  return rest ? `?${rest.slice(0, 200)}` : '';
}

/** A route fit for logs: the token of /tradingview/<token> masked. */
function redactedRoute(route: string): string {
  return route.replace(/^\/tradingview\/.+$/, '/tradingview/********');
}
