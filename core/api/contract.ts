/**
 * The contract: every method the UI may call and every event it may subscribe to.
 * Each capability declares its part in a file beside this one; the IPC bridge, the HTTP bridge
 * and the renderer client are all derived from this object.
 */
import type { z } from 'zod';
import { cacheEvents, cacheMethods } from './cache';
import { dashboardEvents, dashboardMethods } from './dashboard';
import { importsEvents, importsMethods } from './imports';
import { runsEvents, runsMethods } from './runs';
import { systemEvents, systemMethods } from './system';
import { uwStreamEvents, uwStreamMethods, webhooksEvents, webhooksMethods } from './webhooks';

export const methods = {
  ...systemMethods,
  ...cacheMethods,
  ...webhooksMethods,
  ...uwStreamMethods,
  ...runsMethods,
  ...importsMethods,
  ...dashboardMethods,
};

export const events = {
  ...systemEvents,
  ...cacheEvents,
  ...webhooksEvents,
  ...uwStreamEvents,
  ...runsEvents,
  ...importsEvents,
  ...dashboardEvents,
};

export type Methods = typeof methods;
export type Events = typeof events;
export type MethodName = keyof Methods & string;
export type EventName = keyof Events & string;
/** What a caller passes (before parsing: defaults may be omitted). */
export type MethodInput<M extends MethodName> = z.input<Methods[M]['input']>;
/** What a handler receives (after parsing). */
export type MethodArgs<M extends MethodName> = z.output<Methods[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Methods[M]['output']>;
export type EventPayload<E extends EventName> = z.output<Events[E]['payload']>;

export const METHOD_NAMES = Object.keys(methods) as MethodName[];
export const EVENT_NAMES = Object.keys(events) as EventName[];

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(methods, name);
}
