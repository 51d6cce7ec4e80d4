// Precompressed static files: scripts/precompress.mjs makes FILE.gz and FILE.br
// at build time for the files worth it, and GET /static/ sends the variant the
// client's Accept-Encoding takes, with Content-Encoding and Vary.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
// @ts-expect-error: a plain .mjs build script, without type declarations
import { MIN_BYTES, precompress } from '../scripts/precompress.mjs';
import { DEFAULT_STATIC_ROOT } from '../src/routes/static.js';
import { makeApp } from './helpers.js';

interface ManifestEntry {
  name: string;
  bytes: number;
  kind: string;
}
type Result = { written: string[]; kept: string[]; removed: string[] };

// `npm test` (and `npm run build`) run make-static and precompress first; read what they made.
const manifest = JSON.parse(readFileSync(join(DEFAULT_STATIC_ROOT, 'manifest.json'), 'utf8')) as {
  files: ManifestEntry[];
};
const file = (name: string) => readFileSync(join(DEFAULT_STATIC_ROOT, name));

test('the build leaves FILE.gz and FILE.br beside every text file of 1 KiB or more, and only those', () => {
  const text = manifest.files.filter((f) => f.kind === 'text' && f.bytes >= MIN_BYTES);
  assert.deepEqual(
    text.map((f) => f.name),
    ['1k.txt', '100k.txt', '1m.txt'],
  );
  for (const f of text) {
    const plain = file(f.name);
    const gz = file(`${f.name}.gz`);
    const br = file(`${f.name}.br`);
    assert.deepEqual(gunzipSync(gz), plain, `${f.name}.gz`);
    assert.deepEqual(brotliDecompressSync(br), plain, `${f.name}.br`);
    assert.ok(
      gz.length < plain.length / 2 && br.length < gz.length,
      `${f.name}: ${plain.length} → ${gz.length}, ${br.length}`,
    );
    // One Last-Modified (whole seconds) whichever representation is sent.
    const seconds = (name: string) => Math.floor(statSync(join(DEFAULT_STATIC_ROOT, name)).mtimeMs / 1000);
    for (const ext of ['.gz', '.br']) assert.equal(seconds(f.name + ext), seconds(f.name), f.name + ext);
  }
  // Random bytes do not compress; index.html and manifest.json are under the floor.
  for (const name of ['1m.bin', '4m.bin', 'index.html', 'manifest.json'])
    for (const ext of ['.gz', '.br']) assert.ok(!existsSync(join(DEFAULT_STATIC_ROOT, name + ext)), name + ext);
});

test('precompress is idempotent, and removes variants no longer worth it or whose file is gone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'precompress-'));
  try {
    mkdirSync(join(dir, 'css'));
    writeFileSync(join(dir, 'css', 'site.css'), 'body { margin: 0; padding: 0; }\n'.repeat(100));
    writeFileSync(join(dir, 'small.txt'), 'x'.repeat(MIN_BYTES - 1));
    writeFileSync(join(dir, 'photo.jpg'), 'y'.repeat(4096));
    writeFileSync(join(dir, 'gone.txt.gz'), 'stale');
    const first = precompress(dir) as Result;
    assert.deepEqual(first.written.map((p) => p.slice(dir.length + 1)).sort(), ['css/site.css.br', 'css/site.css.gz']);
    assert.deepEqual(
      first.removed.map((p) => p.slice(dir.length + 1)),
      ['gone.txt.gz'],
    );
    const second = precompress(dir) as Result;
    assert.equal(second.written.length, 0);
    assert.equal(second.kept.length, 2);
    // The file changes: its variants are made again. It shrinks below the floor: they go.
    writeFileSync(join(dir, 'css', 'site.css'), 'p { color: red; }\n'.repeat(100));
    assert.equal((precompress(dir) as Result).written.length, 2);
    assert.deepEqual(
      gunzipSync(readFileSync(join(dir, 'css', 'site.css.gz'))).toString(),
      'p { color: red; }\n'.repeat(100),
    );
    writeFileSync(join(dir, 'css', 'site.css'), 'p {}\n');
    assert.equal((precompress(dir) as Result).removed.length, 2);
    assert.ok(!existsSync(join(dir, 'css', 'site.css.gz')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GET /static/<file> sends the precompressed variant the client takes, else the file', async (t) => {
  const app = await makeApp(t);
  const plain = file('1m.txt');
  const cases: Array<[string | undefined, string | undefined, Buffer]> = [
    ['gzip', 'gzip', file('1m.txt.gz')],
    ['br', 'br', file('1m.txt.br')],
    // What browsers send: brotli preferred.
    ['gzip, deflate, br, zstd', 'br', file('1m.txt.br')],
    ['br;q=0.5, gzip', 'gzip', file('1m.txt.gz')],
    ['identity', undefined, plain],
    ['gzip;q=0', undefined, plain],
    [undefined, undefined, plain],
  ];
  for (const [accept, encoding, body] of cases) {
    const res = await app.inject({
      url: '/static/1m.txt',
      headers: accept === undefined ? {} : { 'accept-encoding': accept },
    });
    const what = `Accept-Encoding: ${accept}`;
    assert.equal(res.statusCode, 200, what);
    assert.equal(res.headers['content-encoding'], encoding, what);
    assert.equal(res.headers.vary, 'Accept-Encoding', what);
    assert.match(res.headers['content-type'] as string, /^text\/plain/, what);
    assert.equal(res.headers['content-length'], String(body.length), what);
    // Sent as made at build time (nothing compressed per request), and it decodes to the file.
    assert.deepEqual(res.rawPayload, body, what);
    const decoded =
      encoding === 'gzip'
        ? gunzipSync(res.rawPayload)
        : encoding === 'br'
          ? brotliDecompressSync(res.rawPayload)
          : res.rawPayload;
    assert.deepEqual(decoded, plain, what);
  }
  // A file without variants is sent as it is, whatever is asked for.
  const bin = await app.inject({ url: '/static/1m.bin', headers: { 'accept-encoding': 'gzip, br' } });
  assert.equal(bin.headers['content-encoding'], undefined);
  assert.deepEqual(bin.rawPayload, file('1m.bin'));
  // Each representation has its own validator, and revalidates as itself.
  const gz = await app.inject({ url: '/static/1k.txt', headers: { 'accept-encoding': 'gzip' } });
  const id = await app.inject({ url: '/static/1k.txt', headers: { 'accept-encoding': 'identity' } });
  assert.notEqual(gz.headers.etag, id.headers.etag);
  const again = await app.inject({
    url: '/static/1k.txt',
    headers: { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag as string },
  });
  assert.equal(again.statusCode, 304);
});
