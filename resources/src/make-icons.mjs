// Draws the app and tray icons as PNGs (no image tools needed): `node resources/src/make-icons.mjs`.
// A dark rounded tile with three candlesticks; the tray icon is the candlesticks alone.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const out = join(dirname(fileURLToPath(import.meta.url)), '..');

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
};
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Shapes in a 0..1 unit square; later shapes paint over earlier ones.
const inRoundRect = (x, y, x0, y0, x1, y1, r) => {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};
const candles = [
  // x centre, wick top, body top, body bottom, wick bottom, colour
  { x: 0.3, wt: 0.36, bt: 0.46, bb: 0.7, wb: 0.78, c: [239, 68, 68] },
  { x: 0.5, wt: 0.22, bt: 0.3, bb: 0.6, wb: 0.7, c: [34, 197, 94] },
  { x: 0.7, wt: 0.16, bt: 0.2, bb: 0.42, wb: 0.52, c: [34, 197, 94] },
];
function paint(x, y, { tile, tray }) {
  let px = [0, 0, 0, 0];
  if (tile && inRoundRect(x, y, 0.04, 0.04, 0.96, 0.96, 0.2)) {
    const t = y; // a slight vertical gradient
    px = [Math.round(22 - 8 * t), Math.round(28 - 8 * t), Math.round(40 - 10 * t), 255];
  }
  const scale = tray ? 1.25 : 1;
  const bw = tray ? 0.2 : 0.12;
  const ww = tray ? 0.07 : 0.03;
  for (const k of candles) {
    const cx = 0.5 + (k.x - 0.5) * scale;
    const cy = (v) => 0.5 + (v - 0.5) * scale;
    const colour = tray ? [230, 233, 238] : k.c;
    const inWick = Math.abs(x - cx) <= ww / 2 && y >= cy(k.wt) && y <= cy(k.wb);
    const inBody = inRoundRect(x, y, cx - bw / 2, cy(k.bt), cx + bw / 2, cy(k.bb), tray ? 0.02 : 0.015);
    if (inWick || inBody) px = [...colour, 255];
  }
  return px;
}
function render(size, opts) {
  const ss = 4; // 4x4 supersampling for smooth edges
  const buf = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const p = paint((x + (sx + 0.5) / ss) / size, (y + (sy + 0.5) / ss) / size, opts);
          acc[0] += p[0] * p[3];
          acc[1] += p[1] * p[3];
          acc[2] += p[2] * p[3];
          acc[3] += p[3];
        }
      }
      const a = acc[3];
      const o = (y * size + x) * 4;
      buf[o] = a ? Math.round(acc[0] / a) : 0;
      buf[o + 1] = a ? Math.round(acc[1] / a) : 0;
      buf[o + 2] = a ? Math.round(acc[2] / a) : 0;
      buf[o + 3] = Math.round(a / (ss * ss));
    }
  }
  return png(size, buf);
}

writeFileSync(join(out, 'icon.png'), render(512, { tile: true }));
writeFileSync(join(out, 'tray.png'), render(16, { tray: true }));
writeFileSync(join(out, 'tray@2x.png'), render(32, { tray: true }));
console.log('wrote resources/icon.png (512), tray.png (16), tray@2x.png (32)');
