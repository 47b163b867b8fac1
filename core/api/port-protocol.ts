/** Messages between a bridge and the core host, over any message port (fork IPC or utilityProcess). */
import type { CallResult } from './define';

export type ToHost = { kind: 'call'; id: number; method: string; input: unknown } | { kind: 'stop' };

export type FromHost =
  | { kind: 'ready'; dataDir: string; pid: number }
  | { kind: 'fatal'; code: string; message: string }
  | { kind: 'result'; id: number; result: CallResult }
  | { kind: 'event'; name: string; payload: unknown }
  | { kind: 'stopped' };

export interface MessagePortLike<In, Out> {
  post(message: Out): void;
  onMessage(handler: (message: In) => void): void;
}
