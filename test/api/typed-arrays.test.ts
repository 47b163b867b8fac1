/** The typed-array encoding of serve mode's HTTP answers (core/api/typed-arrays.ts), through real JSON text. */
import { describe, expect, it } from 'vitest';
import { decodeTypedArrays, encodeTypedArrays } from '../../core/api/typed-arrays';

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const roundTrip = (value: unknown) => decodeTypedArrays(JSON.parse(JSON.stringify(encodeTypedArrays(value, base64))));

describe('typed arrays over HTTP', () => {
  it('brings Float64Arrays back bit for bit, views and empty ones included', () => {
    const values = [0.1 + 0.2, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.MIN_VALUE, 1e308, -123.456];
    const whole = new Float64Array(values);
    const view = new Float64Array([9, ...values, 9]).subarray(1, values.length + 1);
    const out = roundTrip({ columns: { a: whole, b: view, empty: new Float64Array(0) }, list: [whole] }) as {
      columns: Record<string, Float64Array>;
      list: Float64Array[];
    };
    for (const got of [out.columns.a, out.columns.b, out.list[0]]) {
      expect(got).toBeInstanceOf(Float64Array);
      expect(got.length).toBe(values.length);
      expect(Array.from(got, (x, i) => Object.is(x, values[i]))).toEqual(values.map(() => true));
    }
    expect(out.columns.empty).toBeInstanceOf(Float64Array);
    expect(out.columns.empty.length).toBe(0);
  });

  it('writes other typed arrays and BigInts as JSON would, and leaves outside JSON that looks like a marker alone', () => {
    // Webhook payloads are stored as sent: a `$f64` key from outside must come back as data, never as a column.
    const outside = JSON.parse('{"$f64":"QUJD","nested":{"$$f64":1,"$f64":"AAAAAAAA8D8="},"__proto__":{"x":1}}');
    const out = roundTrip({ payload: outside, ints: new Int32Array([1, -2]), big: 5n, when: 'x' }) as Record<string, unknown>;
    expect(out.ints).toEqual([1, -2]);
    expect(out.big).toBe(5);
    const payload = out.payload as Record<string, unknown>;
    expect(payload.$f64).toBe('QUJD');
    expect(payload.nested).toEqual({ $$f64: 1, $f64: 'AAAAAAAA8D8=' });
    expect(Object.getOwnPropertyDescriptor(payload, '__proto__')?.value).toEqual({ x: 1 });
    expect(Object.getPrototypeOf(payload)).toBe(Object.prototype);
  });

  it('gives a client that did not ask plain arrays, and outside keys exactly as they came', () => {
    const outside = JSON.parse('{"$f64":"QUJD","__proto__":{"x":1}}');
    const text = JSON.stringify(encodeTypedArrays({ close: new Float64Array([1.5, 2]), payload: outside, n: 7n }));
    expect(JSON.parse(text)).toEqual({ close: [1.5, 2], payload: JSON.parse('{"$f64":"QUJD","__proto__":{"x":1}}'), n: 7 });
    expect(text).toContain('"__proto__":{"x":1}');
  });
});
