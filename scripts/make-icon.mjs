#!/usr/bin/env node
// Draws extension/icon.png, the extension's 128x128 marketplace icon, from
// simple shapes: the activity bar's tunnel (extension/media/devproxy.svg),
// white on a blue rounded square, its three routes in green. No image
// library: each pixel is the coverage of the shapes (4x4 samples), written
// as an RGBA PNG with node:zlib.
//
//   node scripts/make-icon.mjs            # rewrites extension/icon.png
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const SIZE = 128;
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'extension', 'icon.png');

// The SVG's 24-unit coordinates, scaled into the square.
const S = 4.5;
const X = (x) => 10 + x * S;
const Y = (y) => 15 + y * S;
const W = 1.8 * S; // stroke width

const seg = (x1, y1, x2, y2) => ({ kind: 'seg', a: [X(x1), Y(y1)], b: [X(x2), Y(y2)] });
// The upper half of a circle.
const arch = (cx, cy, r) => ({ kind: 'arch', c: [X(cx), Y(cy)], r: r * S });

const tunnel = [
  seg(3, 20, 3, 11), seg(21, 20, 21, 11), arch(12, 11, 9),
  seg(7, 20, 7, 12), seg(17, 20, 17, 12), arch(12, 12, 5),
  seg(2, 20, 22, 20),
];
const routes = [seg(12, 14, 12, 19), seg(12, 14, 9, 17), seg(12, 14, 15, 17)];

function dist(p, sh) {
  if (sh.kind === 'seg') {
    const [ax, ay] = sh.a, [bx, by] = sh.b;
    const dx = bx - ax, dy = by - ay;
    const t = Math.max(0, Math.min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / (dx * dx + dy * dy)));
    return Math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy);
  }
  const [cx, cy] = sh.c;
  if (p[1] <= cy) return Math.abs(Math.hypot(p[0] - cx, p[1] - cy) - sh.r);
  return Math.min(Math.hypot(p[0] - cx + sh.r, p[1] - cy), Math.hypot(p[0] - cx - sh.r, p[1] - cy));
}

const inStroke = (p, shapes) => shapes.some((sh) => dist(p, sh) <= W / 2);

// A rounded square, radius 24.
function inBackground([x, y]) {
  const r = 24;
  const qx = Math.max(r - x, x - (SIZE - r), 0), qy = Math.max(r - y, y - (SIZE - r), 0);
  return Math.hypot(qx, qy) <= r;
}

const lerp = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);
const TOP = [37, 99, 175], BOTTOM = [22, 56, 110], WHITE = [255, 255, 255], GREEN = [110, 231, 160];

const N = 4; // samples per axis
const rows = [];
for (let y = 0; y < SIZE; y++) {
  const row = Buffer.alloc(1 + SIZE * 4); // filter byte 0: none
  for (let x = 0; x < SIZE; x++) {
    let acc = [0, 0, 0], alpha = 0;
    for (let j = 0; j < N; j++) {
      for (let i = 0; i < N; i++) {
        const p = [x + (i + 0.5) / N, y + (j + 0.5) / N];
        if (!inBackground(p)) continue;
        let c = lerp(TOP, BOTTOM, p[1] / SIZE);
        if (inStroke(p, routes)) c = GREEN;
        else if (inStroke(p, tunnel)) c = WHITE;
        acc = acc.map((v, k) => v + c[k]);
        alpha++;
      }
    }
    const o = 1 + x * 4;
    if (alpha > 0) {
      for (let k = 0; k < 3; k++) row[o + k] = Math.round(acc[k] / alpha);
      row[o + 3] = Math.round((255 * alpha) / (N * N));
    }
  }
  rows.push(row);
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0);
ihdr.writeUInt32BE(SIZE, 4);
ihdr[8] = 8; // bit depth
ihdr[9] = 6; // RGBA
const png = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  chunk('IHDR', ihdr),
  chunk('IDAT', zlib.deflateSync(Buffer.concat(rows), { level: 9 })),
  chunk('IEND', Buffer.alloc(0)),
]);
fs.writeFileSync(out, png);
console.log(`${out}: ${SIZE}x${SIZE}, ${png.length} bytes`);
