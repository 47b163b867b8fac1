/**
 * Float64Array columns over HTTP, opt-in by header: as `{"$f64": "<base64 of the little-endian bytes>"}` instead of
 * a JSON array of numbers. A 100k-bar answer (600k numbers) then costs a base64 pass each side instead of formatting
 * and parsing every number. Clients that do not send the header (curl, scripts) still get plain arrays. Results can
 * hold JSON from outside (webhook payloads), so an object key `$f64` (or `$$f64`, …) is sent with one more `$` and
 * only the encoder's own markers are ever decoded.
 */
export const TYPED_ARRAYS_HEADER = 'x-marketdesk-typed-arrays';
export const TYPED_ARRAYS_BASE64 = 'base64';

interface EncodedF64 {
  $f64: string;
}

/**
 * The server side, ready for JSON.stringify (faster on 100k-bar answers than a replacer visiting every number): with
 * `toBase64`, every Float64Array becomes its marker; without it, every typed array is a plain array (for clients that
 * did not ask). BigInts become numbers either way.
 */
export function encodeTypedArrays(value: unknown, toBase64?: (bytes: Uint8Array) => string): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (toBase64 && value instanceof Float64Array)
    return { $f64: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map((v) => encodeTypedArrays(v, toBase64));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    setOwn(out, toBase64 && MARKER_LIKE.test(k) ? `$${k}` : k, encodeTypedArrays(v, toBase64));
  return out;
}

/** `out[key] = value` that keeps a `__proto__` key (JSON.parse makes it an own property) as data. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** The client side: every marker back into a Float64Array, every escaped key back as it was. */
export function decodeTypedArrays(value: unknown): unknown {
  if (isMarker(value)) return float64FromBase64(value.$f64);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decodeTypedArrays(value[i]);
    return value;
  }
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) setOwn(out, ESCAPED.test(k) ? k.slice(1) : k, decodeTypedArrays(v));
  return out;
}

const MARKER_LIKE = /^\$+f64$/;
const ESCAPED = /^\$\$+f64$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

function isMarker(v: unknown): v is EncodedF64 {
  return isPlainObject(v) && typeof v.$f64 === 'string' && Object.keys(v).length === 1;
}

type Base64Decoder = (s: string) => Uint8Array;

function float64FromBase64(s: string): Float64Array {
  const bytes = base64Bytes(s);
  if (bytes.byteLength % 8 !== 0) throw new Error(`a Float64Array column of ${bytes.byteLength} bytes (not a multiple of 8)`);
  // A Float64Array view needs an 8-byte aligned offset; Node's Buffer may hand out a slice of its pool.
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  return new Float64Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 8);
}

function base64Bytes(s: string): Uint8Array {
  const native = (Uint8Array as unknown as { fromBase64?: Base64Decoder }).fromBase64;
  if (native) return native(s);
  const buffer = (globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } }).Buffer;
  if (buffer) return buffer.from(s, 'base64');
  const text = atob(s);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
