#!/usr/bin/env node
// Makes the files served under /static/ (by the app, and by nginx in the proxy
// topologies): text that compresses well and pseudo-random bytes that do not,
// from 1 KiB to 4 MiB. Deterministic (seeded PRNG), so they need not be
// committed; idempotent (a file already identical is left alone, keeping its
// mtime and so its ETag/Last-Modified), and quick (well under a second).
//
// Usage: node app/scripts/make-static.mjs [OUT_DIR]   (default: app/static)
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every generated file: name, size in bytes, and what it is made of. */
export const FILES = [
  { name: '1k.txt', bytes: 1 * KiB, kind: 'text' },
  { name: '100k.txt', bytes: 100 * KiB, kind: 'text' },
  { name: '1m.txt', bytes: 1 * MiB, kind: 'text' },
  { name: '1m.bin', bytes: 1 * MiB, kind: 'random' },
  { name: '4m.bin', bytes: 4 * MiB, kind: 'random' },
];

/** mulberry32: a tiny, fast, well-mixed 32-bit PRNG; quality is ample for filler. */
function prng(seed) {
  let state = seed >>> 0;
  return function next() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A seed per file name, so each file has its own content. */
function seedOf(name) {
  return createHash('sha256').update(name).digest().readUInt32LE(0);
}

/** Bytes that look random: gzip cannot shrink them. */
function randomBytes(size, seed) {
  const next = prng(seed);
  const buffer = Buffer.allocUnsafe(Math.ceil(size / 4) * 4);
  for (let offset = 0; offset < buffer.length; offset += 4) buffer.writeUInt32LE(next(), offset);
  return buffer.subarray(0, size);
}

const WORDS = (
  'gateway worker master proxy nginx upstream request response header body ' +
  'stream chunk socket buffer timeout keepalive signal reload graceful drain ' +
  'client server latency throughput static upload digest process event loop'
).split(' ');

/** English-looking lines from a small vocabulary: gzip shrinks them about 5x. */
function textBytes(size, seed) {
  const next = prng(seed);
  const lines = [];
  let length = 0;
  let line = 1;
  while (length < size) {
    const words = [];
    const count = 6 + (next() % 8);
    for (let i = 0; i < count; i++) words.push(WORDS[next() % WORDS.length]);
    const text = `${String(line++).padStart(6, '0')} ${words.join(' ')}.\n`;
    lines.push(text);
    length += text.length;
  }
  const buffer = Buffer.from(lines.join(''), 'latin1').subarray(0, size);
  buffer[size - 1] = 0x0a; // end on a newline, whatever the cut
  return buffer;
}

function sameContent(path, content) {
  try {
    return readFileSync(path).equals(content);
  } catch {
    return false;
  }
}

/** Writes the files into `outDir`; returns the manifest. */
export function makeStatic(outDir) {
  mkdirSync(outDir, { recursive: true });
  const manifest = { files: [] };
  let written = 0;
  const outputs = FILES.map(({ name, bytes, kind }) => {
    const content = kind === 'text' ? textBytes(bytes, seedOf(name)) : randomBytes(bytes, seedOf(name));
    manifest.files.push({ name, bytes, kind, sha256: createHash('sha256').update(content).digest('hex') });
    return { name, content };
  });
  outputs.push({ name: 'manifest.json', content: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) });
  for (const { name, content } of outputs) {
    const path = join(outDir, name);
    if (sameContent(path, content)) continue;
    // Write then rename: a server never sees a half-written file.
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, content);
    renameSync(temporary, path);
    written++;
  }
  return { manifest, written };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = process.argv[2] ?? fileURLToPath(new URL('../static/', import.meta.url));
  const { manifest, written } = makeStatic(outDir);
  console.log(`make-static: ${manifest.files.length + 1} files in ${outDir} (${written} written)`);
}
