/** Contract for the cache capability. */
import type { EventMap, MethodMap } from './define';

export const cacheMethods = {} satisfies MethodMap;

export const cacheEvents = {} satisfies EventMap;
