// Process-level: `node app/dist/standalone.js` over real HTTP, and a graceful
// SIGTERM that lets an in-flight request finish. Needs the build (the root
// `npm test` builds first; alone: `npx tsc -b app`).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadLimits } from '@gw/limits';

const ENTRY = fileURLToPath(new URL('../dist/standalone.js', import.meta.url));

interface Started {
  child: ChildProcess;
  port: number;
  logs: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Spawns the standalone server on an ephemeral port; resolves once it logs where it listens. */
async function startStandalone(extraEnv: Record<string, string> = {}): Promise<Started> {
  assert.ok(existsSync(ENTRY), `${ENTRY} is missing: build first (npx tsc -b app)`);
  const child = spawn(process.execPath, [ENTRY], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'production', ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    // 'close', not 'exit': it comes once stdout has ended, so the last lines (`stopped`) are read.
    child.on('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  const logs: Array<Record<string, unknown>> = [];
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      const match = /^listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(String(entry.msg));
      if (match) resolve(Number(match[1]));
    });
    void exited.then(({ code }) => {
      reject(new Error(`standalone exited early with ${code}`));
    });
  });
  return { child, port, logs, exited };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  chunks: number;
}

/** One HTTP request on its own connection; `body` may be written in several chunks. */
function send(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer[]; onSent?: () => void; agent?: Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: options.headers, agent: options.agent ?? false },
      (res) => {
        let body = '';
        let chunks = 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          chunks++;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, chunks });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('finish', () => options.onSent?.());
    for (const chunk of options.body ?? []) req.write(chunk);
    req.end();
  });
}

test('standalone server: real HTTP, streamed upload, graceful SIGTERM', { timeout: 30_000 }, async (t) => {
  const server = await startStandalone();
  t.after(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  const pid = server.child.pid;

  const listening = server.logs.find((entry) => String(entry.msg).startsWith('listening on'));
  assert.equal(listening?.pid, pid);

  await t.test('GET / over HTTP', async () => {
    const agent = new Agent({ keepAlive: true });
    const res = await send(server.port, 'GET', '/', { agent });
    agent.destroy();
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { hello: 'world', pid });
    // Outlives nginx's upstream keepalive (limits.json gatewayKeepAliveTimeoutS).
    assert.equal(res.headers['keep-alive'], `timeout=${loadLimits().gatewayKeepAliveTimeoutS}`);
  });

  await t.test('POST /upload streamed in chunks over HTTP', async () => {
    const pieces = Array.from({ length: 8 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const res = await send(server.port, 'POST', '/upload', {
      headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      body: pieces,
    });
    assert.equal(res.status, 200);
    const whole = Buffer.concat(pieces);
    assert.deepEqual(JSON.parse(res.body), {
      bytes: whole.length,
      sha256: createHash('sha256').update(whole).digest('hex'),
      pid,
    });
  });

  await t.test('POST /upload announcing more than bodyLimitBytes is refused before the body is sent', async () => {
    const res = await send(server.port, 'POST', '/upload', {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(loadLimits().bodyLimitBytes + 1),
      },
    }).catch((error: Error) => ({ status: -1, headers: {} as Record<string, string>, body: error.message, chunks: 0 }));
    assert.equal(res.status, 413, res.body);
    assert.equal(res.headers.connection, 'close');
    assert.equal(JSON.parse(res.body).code, 'APP_ERR_BODY_TOO_LARGE');
  });

  await t.test('GET /stream arrives in several chunks over HTTP', async () => {
    const res = await send(server.port, 'GET', '/stream?chunks=3&intervalMs=100');
    assert.equal(res.status, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.body.trimEnd().split('\n').length, 3);
    assert.ok(res.chunks >= 2, `got ${res.chunks} chunk(s)`);
  });

  await t.test('raw traversal paths over HTTP are 404', async () => {
    for (const path of ['/static/../package.json', '/static/%2e%2e/package.json', '/static/..%2fpackage.json']) {
      const res = await send(server.port, 'GET', path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /@gw\/app/, path);
    }
  });

  await t.test('SIGTERM lets an in-flight /slow finish with 200, then exits 0', async () => {
    let sent!: () => void;
    const requestSent = new Promise<void>((resolve) => {
      sent = resolve;
    });
    const slow = send(server.port, 'GET', '/slow?ms=800', { onSent: () => sent() });
    await requestSent;
    // A second connection answered after the first was sent: the server has
    // accepted (and read) the /slow connection, which came earlier.
    assert.equal((await send(server.port, 'GET', '/healthz')).status, 200);
    server.child.kill('SIGTERM');

    const res = await slow;
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { ms: 800, pid });
    // Sent while draining: the client is told not to reuse the connection.
    assert.equal(res.headers.connection, 'close');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    const messages = server.logs.map((entry) => entry.msg);
    assert.ok(messages.includes('draining: finishing in-flight requests'), JSON.stringify(messages));
    assert.ok(messages.includes('stopped'), JSON.stringify(messages));
  });
});

test('SHUTDOWN_DELAY: after SIGTERM, not ready but still serving new connections, then the drain', {
  timeout: 30_000,
}, async () => {
  // Long enough that the requests below land inside it on a loaded machine; it ends by itself.
  const server = await startStandalone({ SHUTDOWN_DELAY: '4' });
  const inDelay = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (server.logs.some((entry) => entry.msg === 'shutdown delay: not ready, still serving')) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
  server.child.kill('SIGTERM');
  await inDelay;
  // New connections are still accepted and answered; readiness says go elsewhere.
  const ready = await send(server.port, 'GET', '/readyz');
  assert.equal(ready.status, 503);
  const home = await send(server.port, 'GET', '/');
  assert.equal(home.status, 200);
  // Kept alive as usual (a balancer's pooled connections keep working until the drain).
  const kept = await fetch(`http://127.0.0.1:${server.port}/`);
  assert.equal(kept.status, 200);
  assert.equal(kept.headers.get('connection'), 'keep-alive');
  await kept.arrayBuffer();
  assert.ok(
    !server.logs.some((entry) => entry.msg === 'draining: finishing in-flight requests'),
    'the drain began before the delay was over',
  );
  assert.deepEqual(await server.exited, { code: 0, signal: null });
  const messages = server.logs.map((entry) => entry.msg);
  assert.ok(
    messages.indexOf('draining: finishing in-flight requests') >
      messages.indexOf('shutdown delay: not ready, still serving'),
  );
});
