#!/usr/bin/env node
// Precompresses the static files at build time, so no server compresses them per
// request: beside every file worth it, FILE.gz (gzip, level 9) and FILE.br
// (brotli, quality 11). nginx serves the .gz itself (`gzip_static on`: it has no
// brotli without a module that the official image lacks), the app's static
// handler serves either (@fastify/static `preCompressed`), by what the client's
// Accept-Encoding asks for. Compressing once at the highest levels costs a second
// or two per build; on the fly, nginx spent ~20 CPU s per 1,000 requests of the
// 1 MiB text file at level 5.
//
// Worth it: a text type (by extension), at least MIN_BYTES long, and the result
// at most MAX_RATIO of the original (a variant that saves little is a second copy
// to keep in step for nothing). A variant no longer worth it, or whose file is
// gone, is removed. Idempotent: a variant that already decompresses to its file
// is left alone. Each variant gets its file's mtime, so Last-Modified is the same
// whichever representation is sent.
//
// Usage: node app/scripts/precompress.mjs [DIR]   (default: app/static)
import { readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';

/** Below this, compression saves less than a packet: nginx's gzip_min_length says the same (1024). */
export const MIN_BYTES = 1024;
/** A variant is kept only if it is at most this fraction of the original. */
export const MAX_RATIO = 0.9;
/** Extensions of types that compress (text); images, archives, fonts in woff2 already are compressed. */
export const TEXT_EXTENSIONS = new Set([
  '.txt',
  '.html',
  '.htm',
  '.css',
  '.js',
  '.mjs',
  '.json',
  '.map',
  '.svg',
  '.xml',
  '.csv',
  '.md',
  '.wasm',
]);

/** The encodings made, with the file extension each gets and how to make and undo it. */
export const ENCODINGS = [
  { name: 'gzip', ext: '.gz', compress: (b) => gzipSync(b, { level: 9 }), decompress: gunzipSync },
  {
    name: 'br',
    ext: '.br',
    compress: (b) =>
      brotliCompressSync(b, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: b.length,
        },
      }),
    decompress: brotliDecompressSync,
  },
];
const VARIANT_EXTENSIONS = new Set(ENCODINGS.map((e) => e.ext));

/** Is `path` (a file of `bytes` bytes) one to precompress? */
export function worthCompressing(path, bytes) {
  return TEXT_EXTENSIONS.has(extname(path).toLowerCase()) && bytes >= MIN_BYTES;
}

function decodesTo(path, decompress, content) {
  try {
    return decompress(readFileSync(path)).equals(content);
  } catch {
    return false;
  }
}

function exists(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Every regular file under `dir`, recursively, dotfiles skipped (they are never served). */
function filesUnder(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/**
 * Writes FILE.gz and FILE.br beside every file of `dir` worth compressing; removes stale ones.
 * Returns what it did: variants written, kept (already current) and removed, each a path.
 */
export function precompress(dir) {
  const result = { written: [], kept: [], removed: [] };
  const files = filesUnder(dir);
  const sources = new Set(files.filter((f) => !VARIANT_EXTENSIONS.has(extname(f))));
  for (const file of files) {
    // A variant whose file is gone (or is itself a variant): nothing should serve it.
    if (VARIANT_EXTENSIONS.has(extname(file)) && !sources.has(file.slice(0, -extname(file).length))) {
      rmSync(file);
      result.removed.push(file);
    }
  }
  for (const file of sources) {
    const stat = statSync(file);
    const content = readFileSync(file);
    for (const encoding of ENCODINGS) {
      const variant = file + encoding.ext;
      if (!worthCompressing(file, stat.size)) {
        if (exists(variant)) {
          rmSync(variant);
          result.removed.push(variant);
        }
        continue;
      }
      if (decodesTo(variant, encoding.decompress, content)) {
        result.kept.push(variant);
      } else {
        const compressed = encoding.compress(content);
        if (compressed.length > content.length * MAX_RATIO) {
          if (exists(variant)) {
            rmSync(variant);
            result.removed.push(variant);
          }
          continue;
        }
        // Write then rename: a server never sees a half-written variant.
        const temporary = `${variant}.${process.pid}.tmp`;
        writeFileSync(temporary, compressed);
        renameSync(temporary, variant);
        result.written.push(variant);
      }
      utimesSync(variant, stat.atime, stat.mtime);
    }
  }
  return result;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../static/', import.meta.url));
  const { written, kept, removed } = precompress(dir);
  const count = written.length + kept.length;
  console.log(`precompress: ${count} variants in ${dir} (${written.length} written, ${removed.length} stale removed)`);
}
