/**
 * JSON text for a warehouse JSON column. JSON.stringify writes a lone UTF-16 surrogate (a broken
 * emoji cut in half by a sender, `"\ud800"`) as an escape, and DuckDB's JSON functions then refuse
 * the whole column ("no low surrogate"): such characters become U+FFFD, as any UTF-8 decoder would.
 */
export function warehouseJson(value: unknown): string {
  const text = JSON.stringify(value);
  return SURROGATE_ESCAPE.test(text) ? JSON.stringify(wellFormed(value)) : text;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\uFFFD');
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k.replace(LONE_SURROGATE, '\uFFFD')] = wellFormed(v);
    return out;
  }
  return value;
}
