/** Building blocks of the contract: a method is a summary, a zod input and a zod output. */
import type { z } from 'zod';

export interface MethodSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  summary: string;
  input: I;
  output: O;
  /** Large payloads (columns of bars): the output is trusted, not re-validated on the way out. */
  bulk?: boolean;
}

export interface EventSpec<P extends z.ZodType = z.ZodType> {
  summary: string;
  payload: P;
}

export type MethodMap = Record<string, MethodSpec>;
export type EventMap = Record<string, EventSpec>;

export function method<I extends z.ZodType, O extends z.ZodType>(
  summary: string,
  input: I,
  output: O,
  options: { bulk?: boolean } = {},
): MethodSpec<I, O> {
  return { summary, input, output, ...options };
}

export function event<P extends z.ZodType>(summary: string, payload: P): EventSpec<P> {
  return { summary, payload };
}

/** What every bridge answers: the result, or an error with a code, a message and the zod issues. */
export type CallResult<T = unknown> = { ok: true; result: T } | { ok: false; error: ApiErrorBody };

export interface ApiIssue {
  path: (string | number)[];
  message: string;
}

export interface ApiErrorBody {
  code: string;
  message: string;
  status: number;
  issues?: ApiIssue[];
}
