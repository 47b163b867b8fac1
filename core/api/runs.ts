/** Contract for the runs capability. */
import type { EventMap, MethodMap } from './define';

export const runsMethods = {} satisfies MethodMap;

export const runsEvents = {} satisfies EventMap;
