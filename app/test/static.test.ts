// GET /static/...: the generated files, their cache headers, and that no path
// (however encoded) reaches outside the static root.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs build script, without type declarations
import { FILES, makeStatic } from '../scripts/make-static.mjs';
import { DEFAULT_STATIC_ROOT, STATIC_MAX_AGE_S } from '../src/routes/static.js';
import { assertErrorShape, makeApp } from './helpers.js';

interface ManifestEntry {
  name: string;
  bytes: number;
  kind: string;
  sha256: string;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
// `npm test` runs make-static first; read what it made.
const manifest = JSON.parse(readFileSync(join(DEFAULT_STATIC_ROOT, 'manifest.json'), 'utf8')) as {
  files: ManifestEntry[];
};

test('make-static describes 1 KiB..4 MiB files, text and random', () => {
  assert.deepEqual(
    manifest.files.map((file) => [file.name, file.bytes, file.kind]),
    [
      ['1k.txt', 1024, 'text'],
      ['100k.txt', 102400, 'text'],
      ['1m.txt', 1048576, 'text'],
      ['1m.bin', 1048576, 'random'],
      ['4m.bin', 4194304, 'random'],
    ],
  );
});

test('make-static is deterministic and idempotent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'make-static-'));
  try {
    const first = makeStatic(dir) as { manifest: { files: ManifestEntry[] }; written: number };
    assert.equal(first.written, (FILES as unknown[]).length + 1);
    assert.deepEqual(first.manifest, manifest);
    const mtime = statSync(join(dir, '4m.bin')).mtimeMs;
    const second = makeStatic(dir) as { written: number };
    assert.equal(second.written, 0);
    // Untouched files keep their mtime, so Last-Modified and ETag stay stable.
    assert.equal(statSync(join(dir, '4m.bin')).mtimeMs, mtime);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GET /static/<file> serves every generated file, byte for byte', async (t) => {
  const app = await makeApp(t);
  for (const file of manifest.files) {
    const res = await app.inject({ url: `/static/${file.name}` });
    assert.equal(res.statusCode, 200, file.name);
    assert.equal(res.rawPayload.length, file.bytes, file.name);
    assert.equal(sha256(res.rawPayload), file.sha256, file.name);
    assert.equal(res.headers['content-length'], String(file.bytes));
    assert.match(
      res.headers['content-type'] as string,
      file.kind === 'text' ? /^text\/plain/ : /^application\/octet-stream/,
    );
  }
});

test('GET /static/ serves index.html; static responses carry validators and Cache-Control', async (t) => {
  const app = await makeApp(t);
  const res = await app.inject({ url: '/static/' });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/html/);
  assert.match(res.body, /<title>Sample app: static files<\/title>/);

  const file = await app.inject({ url: '/static/1k.txt' });
  assert.equal(file.headers['cache-control'], `public, max-age=${STATIC_MAX_AGE_S}`);
  assert.match(file.headers.etag as string, /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
  assert.ok(!Number.isNaN(Date.parse(file.headers['last-modified'] as string)));
  assert.equal(file.headers['accept-ranges'], 'bytes');

  const again = await app.inject({ url: '/static/1k.txt', headers: { 'if-none-match': file.headers.etag as string } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');

  const range = await app.inject({ url: '/static/1k.txt', headers: { range: 'bytes=0-5' } });
  assert.equal(range.statusCode, 206);
  assert.equal(range.body, '000001');
});

test('GET /static/<missing> and dotfiles are JSON 404s', async (t) => {
  const app = await makeApp(t);
  for (const url of ['/static/nope.txt', '/static/.gitignore', '/static/sub/']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 404, url);
    assert.equal(assertErrorShape(res.json(), 404).code, 'APP_ERR_ROUTE_NOT_FOUND', url);
  }
});

const TRAVERSALS = [
  '/static/../secret.txt',
  '/static/%2e%2e/secret.txt',
  '/static/%2E%2E/secret.txt',
  '/static/..%2fsecret.txt',
  '/static/..%2Fsecret.txt',
  '/static/%2e%2e%2fsecret.txt',
  '/static/..%5csecret.txt',
  '/static/..\\secret.txt',
  '/static/./../secret.txt',
  '/static/public/../../secret.txt',
  '/static/%252e%252e/secret.txt',
  '/static//../secret.txt',
  '/static/..',
  '/static/%00../secret.txt',
  `/static/${encodeURIComponent('/etc/passwd')}`,
  '/static//etc/passwd',
];

/** A static root with a secret file beside it, to prove it is never reachable. */
function rootWithSecret(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'static-root-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'public');
  mkdirSync(root);
  writeFileSync(join(root, 'ok.txt'), 'public\n');
  writeFileSync(join(dir, 'secret.txt'), 'SECRET\n');
  return root;
}

test('path traversal through inject() never leaves the static root', async (t) => {
  const app = await makeApp(t, { staticRoot: rootWithSecret(t) });
  assert.equal((await app.inject({ url: '/static/ok.txt' })).body, 'public\n');
  for (const url of TRAVERSALS) {
    const res = await app.inject({ url });
    assert.doesNotMatch(res.body, /SECRET|root:/, url);
    // inject() normalises URLs as WHATWG clients do: '/static/..' becomes '/', another route.
    if (!new URL(url, 'http://app').pathname.startsWith('/static/')) continue;
    assert.ok([400, 404].includes(res.statusCode), `${url}: ${res.statusCode}`);
  }
});

test('path traversal over raw HTTP (no client-side URL normalising) never leaves the static root', async (t) => {
  const app = await makeApp(t, { staticRoot: rootWithSecret(t) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      })
        .on('error', reject)
        .end();
    });
  assert.deepEqual(await get('/static/ok.txt'), { status: 200, body: 'public\n' });
  for (const path of TRAVERSALS) {
    const res = await get(path);
    assert.ok([400, 404].includes(res.status), `${path}: ${res.status} ${res.body}`);
    assert.doesNotMatch(res.body, /SECRET|root:/, path);
  }
});
