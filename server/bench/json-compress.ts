/**
 * Does compressing the app's dynamic JSON on the fly pay? (A script that prints figures, never a
 * test.) Takes the sample app's own answers (GET / and a page of /api/items, 10 and 100 items, by
 * inject()), and compresses each many times in this process as a server would per response: gzip
 * at nginx's level 5 (gzip_comp_level) and at zlib's default 6, brotli at quality 4 (what on-the-fly
 * brotli servers use; 11 is for build time). Prints the bytes saved and the CPU microseconds each
 * costs, beside nginx's floor (gzip_min_length 1024): what a response must weigh before
 * compressing it saves more than a packet.
 *
 *   taskset -c 1 npm run bench:json-compress [-- --iterations 2000]
 */
import { cpuUsage } from 'node:process';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { buildApp } from '@gw/app';

const { values: opts } = parseArgs({ options: { iterations: { type: 'string', default: '2000' } } });
const ITERATIONS = Number(opts.iterations);

const app = await buildApp();
for (let i = 0; i < 100; i++)
  await app.inject({
    method: 'POST',
    url: '/api/items',
    payload: { name: `item number ${i}`, price: i * 1.5, tags: ['sample', 'json'] },
  });
const bodies: Array<[string, Buffer]> = [];
for (const url of ['/', '/api/items?limit=10', '/api/items?limit=100'])
  bodies.push([`GET ${url}`, (await app.inject({ url })).rawPayload]);
await app.close();

const codecs: Array<[string, (b: Buffer) => Buffer]> = [
  ['gzip 5', (b) => gzipSync(b, { level: 5 })],
  ['gzip 6', (b) => gzipSync(b, { level: 6 })],
  ['br 4', (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } })],
];

/** CPU microseconds of one call of `fn`, over ITERATIONS calls after a warm-up. */
function cpuMicros(fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  const start = cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) fn();
  const used = cpuUsage(start);
  return (used.user + used.system) / ITERATIONS;
}

console.log(`${process.version}, ${ITERATIONS} iterations each`);
console.log('| response | bytes | codec | compressed bytes | saved | CPU µs per response |');
console.log('| --- | ---: | --- | ---: | ---: | ---: |');
for (const [name, body] of bodies)
  for (const [codec, fn] of codecs) {
    const out = fn(body);
    const micros = cpuMicros(() => fn(body));
    const saved = `${Math.round((1 - out.length / body.length) * 100)}%`;
    console.log(`| ${name} | ${body.length} | ${codec} | ${out.length} | ${saved} | ${micros.toFixed(1)} |`);
  }
