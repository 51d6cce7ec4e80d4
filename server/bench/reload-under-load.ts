/**
 * Zero-downtime reloads, measured (a script that prints figures, not a test). Starts the gateway
 * on the sample app, offers constant load (GET / and POST /upload, keep-alive), sends HUP three
 * times in a row (each after the previous reload completed) and prints every failed request.
 *
 *   npm run bench:reload [-- --workers 2 --concurrency 8 --reloads 3]
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, startGateway } from '@gw/harness';

const { values: opts } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    reloads: { type: 'string', default: '3' },
    settle: { type: 'string', default: '1000' },
  },
});

// The harness follows the gateway's JSON log (port, reload lines) for us.
const gateway = await startGateway(['-w', opts.workers!, '-b', '127.0.0.1:0', join(ROOT, 'app/dist/app.js')], {
  LOG_LEVEL: 'warn',
});
const port = gateway.port;
const reloadMs = () =>
  gateway.lines
    .map((l) => /Reload complete: generation \d+ serving \((\d+) ms\)/.exec(l.msg ?? '')?.[1])
    .filter(Boolean)
    .map(Number);

const agent = new http.Agent({ keepAlive: true, maxSockets: Number(opts.concurrency) });
const body = Buffer.alloc(64 * 1024, 'x');
const digest = createHash('sha256').update(body).digest('hex');

function once(post: boolean): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        agent,
        method: post ? 'POST' : 'GET',
        path: post ? '/upload' : '/',
        headers: post ? { 'content-type': 'application/octet-stream' } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(`${post ? 'POST' : 'GET'} status ${res.statusCode}`);
          if (post && (JSON.parse(text) as { sha256?: string }).sha256 !== digest) return resolve('POST wrong sha256');
          resolve(undefined);
        });
      },
    );
    req.on('error', (err) => resolve(`${post ? 'POST' : 'GET'} ${err.message}`));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(post ? body : undefined);
  });
}

async function main(): Promise<void> {
  await gateway.until('all workers ready', () => gateway.readyWorkers().length === Number(opts.workers));
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  let n = 0;
  const started = Date.now();
  const loops = Array.from({ length: Number(opts.concurrency) }, async () => {
    // Bounded: the loop ends with the reloads, or after 2 minutes whatever happens.
    while (!stop && Date.now() - started < 120_000) {
      const failure = await once(n++ % 2 === 1);
      if (failure) failures.push(failure);
      else ok++;
    }
  });
  await new Promise((r) => setTimeout(r, Number(opts.settle)));
  for (let i = 1; i <= Number(opts.reloads); i++) {
    gateway.signal('SIGHUP');
    await gateway.waitFor(/Reload complete/, i, 30_000);
    await new Promise((r) => setTimeout(r, Number(opts.settle)));
  }
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  await gateway.stop();
  const seconds = (Date.now() - started) / 1000;
  console.log(`# Reloads under load — ${new Date().toISOString()}`);
  console.log(
    `gateway -w ${opts.workers}, ${opts.concurrency} keep-alive clients alternating GET / and POST /upload (64 KiB, sha256 checked)\n`,
  );
  console.log('| reloads | requests | failed | duration s | req/s | reload times ms |');
  console.log('|---:|---:|---:|---:|---:|---|');
  console.log(
    `| ${reloadMs().length} | ${ok + failures.length} | ${failures.length} | ${seconds.toFixed(1)} | ` +
      `${((ok + failures.length) / seconds).toFixed(0)} | ${reloadMs().join(', ')} |`,
  );
  for (const f of failures.slice(0, 20)) console.log(`- failed: ${f}`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  gateway.proc.kill('SIGKILL');
  process.exit(1);
});
