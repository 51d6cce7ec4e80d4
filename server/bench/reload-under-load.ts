/**
 * Zero-downtime reloads, measured (a script that prints figures, not a test). Starts the gateway
 * on the sample app, offers constant load (GET / and POST /upload, keep-alive), sends HUP three
 * times in a row (each after the previous reload completed) and prints every failed request.
 *
 *   npm run bench:reload [-- --workers 2 --concurrency 8 --reloads 3]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    reloads: { type: 'string', default: '3' },
    settle: { type: 'string', default: '1000' },
  },
});

const gateway = spawn(process.execPath, ['server/dist/cli.js', '-w', opts.workers!, '-b', '127.0.0.1:0', 'app/dist/app.js'],
  { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
let port = 0;
let reloadsDone = 0;
const reloadMs: number[] = [];
let buf = '';
gateway.stderr.setEncoding('utf8');
gateway.stderr.on('data', (chunk: string) => {
  buf += chunk;
  for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const msg = (() => { try { return (JSON.parse(line) as { msg?: string }).msg ?? ''; } catch { return line; } })();
    const listen = /Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(msg);
    if (listen) port = Number(listen[1]);
    const done = /Reload complete: generation \d+ serving \((\d+) ms\)/.exec(msg);
    if (done) { reloadsDone++; reloadMs.push(Number(done[1])); }
    if (/Reload failed/.test(msg)) console.error(msg);
  }
});

const until = async (what: string, test: () => boolean, limitMs = 30_000) => {
  const end = Date.now() + limitMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const agent = new http.Agent({ keepAlive: true, maxSockets: Number(opts.concurrency) });
const body = Buffer.alloc(64 * 1024, 'x');
const digest = createHash('sha256').update(body).digest('hex');

function once(post: boolean): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, agent, method: post ? 'POST' : 'GET', path: post ? '/upload' : '/', headers: post ? { 'content-type': 'application/octet-stream' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(`${post ? 'POST' : 'GET'} status ${res.statusCode}`);
        if (post && (JSON.parse(text) as { sha256?: string }).sha256 !== digest) return resolve('POST wrong sha256');
        resolve(undefined);
      });
    });
    req.on('error', (err) => resolve(`${post ? 'POST' : 'GET'} ${err.message}`));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(post ? body : undefined);
  });
}

async function main(): Promise<void> {
  await until('the gateway', () => port > 0);
  await new Promise((r) => setTimeout(r, 1000));
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  let n = 0;
  const started = Date.now();
  const loops = Array.from({ length: Number(opts.concurrency) }, async () => {
    // Bounded: the loop ends with the reloads, or after 2 minutes whatever happens.
    while (!stop && Date.now() - started < 120_000) {
      const failure = await once(n++ % 2 === 1);
      if (failure) failures.push(failure); else ok++;
    }
  });
  await new Promise((r) => setTimeout(r, Number(opts.settle)));
  for (let i = 1; i <= Number(opts.reloads); i++) {
    gateway.kill('SIGHUP');
    await until(`reload ${i}`, () => reloadsDone >= i);
    await new Promise((r) => setTimeout(r, Number(opts.settle)));
  }
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  gateway.kill('SIGTERM');
  const seconds = (Date.now() - started) / 1000;
  console.log(`# Reloads under load — ${new Date().toISOString()}`);
  console.log(`gateway -w ${opts.workers}, ${opts.concurrency} keep-alive clients alternating GET / and POST /upload (64 KiB, sha256 checked)\n`);
  console.log('| reloads | requests | failed | duration s | req/s | reload times ms |');
  console.log('|---:|---:|---:|---:|---:|---|');
  console.log(`| ${reloadsDone} | ${ok + failures.length} | ${failures.length} | ${seconds.toFixed(1)} | ${((ok + failures.length) / seconds).toFixed(0)} | ${reloadMs.join(', ')} |`);
  for (const f of failures.slice(0, 20)) console.log(`- failed: ${f}`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((err: unknown) => { console.error(err); gateway.kill('SIGKILL'); process.exit(1); });
