/**
 * The sandboxed preload: exposes exactly an ApiTransport as `window.marketdesk`. It can only invoke
 * the contract's channels; main validates every input before the core host sees it.
 */
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import { callChannel, EVENT_CHANNEL, METHOD_NAME_PATTERN } from '../core/desktop/channels';

type CallResult = { ok: true; result: unknown } | { ok: false; error: { code: string; status: number; message: string } };

const unknownMethod = (method: string): CallResult => ({
  ok: false,
  error: { code: 'unknown_method', status: 404, message: `Unknown method "${method}"` },
});

const bridge = {
  async call(method: string, input: unknown): Promise<CallResult> {
    if (typeof method !== 'string' || !METHOD_NAME_PATTERN.test(method)) return unknownMethod(String(method));
    try {
      return (await ipcRenderer.invoke(callChannel(method), input)) as CallResult;
    } catch (err) {
      // No handler for that channel: not a contract method.
      if (String(err).includes('No handler registered')) return unknownMethod(method);
      return { ok: false, error: { code: 'transport', status: 500, message: String(err) } };
    }
  },
  subscribe(listener: (event: string, payload: unknown) => void): () => void {
    const handler = (_event: IpcRendererEvent, name: string, payload: unknown) => listener(name, payload);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('marketdesk', bridge);
