/** Contract for the imports capability. */
import type { EventMap, MethodMap } from './define';

export const importsMethods = {} satisfies MethodMap;

export const importsEvents = {} satisfies EventMap;
