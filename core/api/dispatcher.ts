/** Serves the contract: parse input with the method's schema, run the handler, shape errors. */
import { AppError, errorMessage } from '../platform/errors';
import type { Logger } from '../platform/logger';
import {
  type EventName,
  type EventPayload,
  isMethodName,
  type MethodArgs,
  type MethodName,
  type MethodOutput,
  methods,
} from './contract';
import type { ApiErrorBody, ApiIssue, CallResult } from './define';

export interface CallContext {
  /** Which bridge the call came through, for logs. */
  via: 'http' | 'ipc' | 'port' | 'internal';
}

export type Handlers = {
  [M in MethodName]: (input: MethodArgs<M>, ctx: CallContext) => Promise<MethodOutput<M>> | MethodOutput<M>;
};

export class ApiDispatcher {
  private readonly handlers: Handlers;
  private readonly logger: Logger;
  private readonly checkOutputs: boolean;

  constructor(handlers: Handlers, logger: Logger, options: { checkOutputs?: boolean } = {}) {
    this.handlers = handlers;
    this.logger = logger;
    this.checkOutputs = options.checkOutputs ?? true;
  }

  async call(name: string, rawInput: unknown, ctx: CallContext = { via: 'internal' }): Promise<CallResult> {
    if (!isMethodName(name)) {
      return failure({ code: 'unknown_method', status: 404, message: `Unknown method "${name}"` });
    }
    const spec = methods[name];
    const parsed = spec.input.safeParse(callInput(rawInput));
    if (!parsed.success) {
      const issues = toIssues(parsed.error.issues);
      return failure({
        code: 'invalid_input',
        status: 400,
        message: `Invalid input for ${name}: ${issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`,
        issues,
      });
    }
    try {
      const handler = this.handlers[name] as (input: unknown, ctx: CallContext) => unknown;
      const result = await handler(parsed.data, ctx);
      if (this.checkOutputs && !spec.bulk) {
        const out = spec.output.safeParse(result);
        if (!out.success) {
          this.logger.error('handler returned output that breaks the contract', {
            method: name,
            issues: toIssues(out.error.issues),
          });
          return failure({ code: 'internal', status: 500, message: `${name} produced an invalid result` });
        }
        return { ok: true, result: out.data };
      }
      return { ok: true, result };
    } catch (err) {
      return failure(this.describe(name, err));
    }
  }

  private describe(name: string, err: unknown): ApiErrorBody {
    if (err instanceof AppError) {
      const details = err.details as { issues?: ApiIssue[] } | undefined;
      // Refused input (4xx) is the caller's to read; a failure of ours or of a dependency (IBKR, a store) is logged.
      if (err.status >= 500)
        this.logger.warn('call failed', { method: name, code: err.code, status: err.status, error: err.message });
      return { code: err.code, status: err.status, message: err.message, issues: details?.issues };
    }
    this.logger.error('handler failed', { method: name, error: errorMessage(err), stack: (err as Error)?.stack });
    return { code: 'internal', status: 500, message: `${name} failed: ${errorMessage(err)}` };
  }
}

export async function callOrThrow<M extends MethodName>(
  dispatcher: ApiDispatcher,
  name: M,
  input: unknown,
): Promise<MethodOutput<M>> {
  const res = await dispatcher.call(name, input);
  if (!res.ok) throw new AppError(res.error.code, res.error.message, { status: res.error.status, details: res.error });
  return res.result as MethodOutput<M>;
}

function failure(error: ApiErrorBody): CallResult {
  return { ok: false, error };
}

export function toIssues(issues: readonly { path: PropertyKey[]; message: string }[]): ApiIssue[] {
  return issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'number' ? p : String(p))), message: i.message }));
}

/** Typed fan-out of contract events to whichever bridges are listening. */
export class EventHub {
  private readonly listeners = new Set<(name: EventName, payload: unknown) => void>();

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    for (const l of this.listeners) {
      try {
        l(name, payload);
      } catch {
        // A broken subscriber (closed socket) must not stop the others.
      }
    }
  }

  subscribe(listener: (name: EventName, payload: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** A call without input means `{}`; anything sent, `null` included, is input for the method's schema to judge. */
export function callInput(raw: unknown): unknown {
  return raw === undefined ? {} : raw;
}
