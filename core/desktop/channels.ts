/**
 * IPC channel names shared by main and the preload. Dependency-free on purpose: the sandboxed
 * preload bundles this file and nothing heavier.
 */

/** Calls: `marketdesk:call:<method>`, one `ipcMain.handle` per contract method. */
export const CALL_CHANNEL_PREFIX = 'marketdesk:call:';
/** Main → renderer contract events: `(ipcEvent, name, payload)`. */
export const EVENT_CHANNEL = 'marketdesk:event';
/** What a contract method name looks like (`area.verb`); anything else never reaches IPC. */
export const METHOD_NAME_PATTERN = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)+$/;

export function callChannel(method: string): string {
  return `${CALL_CHANNEL_PREFIX}${method}`;
}
