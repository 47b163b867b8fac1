/**
 * The IPC bridge: one `ipcMain.handle` per contract method. Each checks the sender is the app's
 * own page and parses the input with the method's zod schema before anything reaches the core host.
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import type { CallResult } from '../core/api/define';
import { checkCallInput, contractChannels } from '../core/desktop';

export interface ContractBridgeDeps {
  ipcMain: Pick<IpcMain, 'handle'>;
  call(method: string, input: unknown): Promise<CallResult>;
  /** The frame's URL is the app itself (not a page it was tricked into loading). */
  isTrustedSender(url: string): boolean;
  /** Methods main answers itself after validation (settings.update with secrets). */
  intercept?: Record<string, (input: unknown) => Promise<CallResult>>;
}

export function registerContractBridge(deps: ContractBridgeDeps): string[] {
  const channels: string[] = [];
  for (const { method, channel } of contractChannels()) {
    deps.ipcMain.handle(channel, async (event: IpcMainInvokeEvent, input: unknown): Promise<CallResult> => {
      const url = event.senderFrame?.url ?? '';
      if (!deps.isTrustedSender(url)) {
        return {
          ok: false,
          error: { code: 'forbidden', status: 403, message: `Calls are only accepted from the app (${method})` },
        };
      }
      const checked = checkCallInput(method, input);
      if (!checked.ok) return checked.result;
      const own = deps.intercept?.[method];
      return own ? own(input) : deps.call(method, input);
    });
    channels.push(channel);
  }
  return channels;
}
