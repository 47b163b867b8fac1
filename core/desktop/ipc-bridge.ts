/**
 * The IPC bridge's rules, kept out of Electron so they are tested in plain Node: one channel per
 * contract method, every input parsed with the method's zod schema before it reaches the host.
 */
import { isMethodName, METHOD_NAMES, type MethodName, methods } from '../api/contract';
import type { CallResult } from '../api/define';
import { callInput, toIssues } from '../api/dispatcher';
import { callChannel } from './channels';

export function contractChannels(): { method: MethodName; channel: string }[] {
  return METHOD_NAMES.map((method) => ({ method, channel: callChannel(method) }));
}

/**
 * Refuses input that breaks the method's schema, in the same CallResult shape the host would answer.
 * The raw input is forwarded when valid (the host parses again and applies defaults itself).
 */
export function checkCallInput(method: string, input: unknown): { ok: true } | { ok: false; result: CallResult } {
  if (!isMethodName(method)) {
    return {
      ok: false,
      result: { ok: false, error: { code: 'unknown_method', status: 404, message: `Unknown method "${method}"` } },
    };
  }
  const parsed = methods[method].input.safeParse(callInput(input));
  if (parsed.success) return { ok: true };
  const issues = toIssues(parsed.error.issues);
  return {
    ok: false,
    result: {
      ok: false,
      error: {
        code: 'invalid_input',
        status: 400,
        message: `Invalid input for ${method}: ${issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`,
        issues,
      },
    },
  };
}
