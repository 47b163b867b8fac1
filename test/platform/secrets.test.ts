import { describe, expect, it } from 'vitest';
import { secretEquals } from '../../core/platform';

describe('secretEquals', () => {
  it('matches only the exact secret, whichever secrets are compared in turn', () => {
    const webhook = 'webhook-secret-0123';
    const control = 'control-token-abcdef';
    for (let round = 0; round < 3; round++) {
      expect(secretEquals(webhook, webhook)).toBe(true);
      expect(secretEquals(control, control)).toBe(true);
      expect(secretEquals(control, webhook)).toBe(false);
      expect(secretEquals(`${webhook} `, webhook)).toBe(false);
      expect(secretEquals(webhook.slice(0, -1), webhook)).toBe(false);
    }
  });

  it('never matches a missing, non-string or empty secret', () => {
    expect(secretEquals(undefined, 'x')).toBe(false);
    expect(secretEquals(123, '123')).toBe(false);
    expect(secretEquals('', '')).toBe(false);
    expect(secretEquals('anything', '')).toBe(false);
  });

  it('keeps working when more secrets are compared than it remembers', () => {
    const secrets = Array.from({ length: 20 }, (_, i) => `secret-${i}`);
    for (const s of secrets) expect(secretEquals(s, s)).toBe(true);
    for (const s of secrets) expect(secretEquals(`${s}x`, s)).toBe(false);
  });
});
