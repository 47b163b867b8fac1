/** Contract for the dashboard capability. */
import type { EventMap, MethodMap } from './define';

export const dashboardMethods = {} satisfies MethodMap;

export const dashboardEvents = {} satisfies EventMap;
