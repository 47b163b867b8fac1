/**
 * TWS socket framing (V100+ text protocol): a 4-byte big-endian length, then UTF-8 fields each
 * terminated by NUL. The client opens with the bytes `API\0` followed by one framed version string
 * (`v100..193`, no trailing NUL).
 */

export type Field = string | number | boolean | null | undefined;

export function encodeFrame(fields: readonly Field[]): Buffer {
  const text = fields.map((f) => (f === null || f === undefined ? '' : typeof f === 'boolean' ? (f ? '1' : '0') : String(f)));
  const payload = Buffer.from(`${text.join('\0')}\0`, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

export type Incoming = { kind: 'hello'; minVersion: number; maxVersion: number } | { kind: 'message'; fields: string[] };

/** Accumulates socket data and yields the hello, then messages. Throws on a malformed hello. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private greeted = false;

  push(chunk: Buffer): Incoming[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const out: Incoming[] = [];
    if (!this.greeted) {
      if (this.buffer.length < 8) return out;
      if (this.buffer.subarray(0, 4).toString('latin1') !== 'API\0') throw new Error('expected the API\\0 greeting');
      const len = this.buffer.readUInt32BE(4);
      if (this.buffer.length < 8 + len) return out;
      const text = this.buffer.subarray(8, 8 + len).toString('utf8');
      this.buffer = this.buffer.subarray(8 + len);
      this.greeted = true;
      const m = /^v(\d+)(?:\.\.(\d+))?/.exec(text);
      if (!m) throw new Error(`bad version string ${JSON.stringify(text)}`);
      out.push({ kind: 'hello', minVersion: Number(m[1]), maxVersion: Number(m[2] ?? m[1]) });
    }
    while (this.buffer.length >= 4) {
      const len = this.buffer.readUInt32BE(0);
      if (this.buffer.length < 4 + len) break;
      const text = this.buffer.subarray(4, 4 + len).toString('utf8');
      this.buffer = this.buffer.subarray(4 + len);
      const fields = text.split('\0');
      if (fields[fields.length - 1] === '') fields.pop();
      out.push({ kind: 'message', fields });
    }
    return out;
  }
}
