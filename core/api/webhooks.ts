/** Contract for the webhooks capability. */
import type { EventMap, MethodMap } from './define';

export const webhooksMethods = {} satisfies MethodMap;

export const webhooksEvents = {} satisfies EventMap;
