/**
 * Expect: 100-continue runs the gateway's head checks before the client is invited to send its
 * body: an oversized declared body gets 413 and no "100 Continue" (Node's default answers 100
 * first), a good one gets 100 and then the app's answer.
 */
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { test } from 'node:test';
import pino from 'pino';
import { ClientShare } from '../src/client-share.js';
import { parseArgv, resolveConfig } from '../src/config.js';
import { compileTrust } from '../src/forwarded.js';
import { attachRequestPath, createPipeline } from '../src/http-handler.js';
import { UpgradeGuard } from '../src/upgrades.js';
import { WorkerStats } from '../src/worker-stats.js';
import { fixture, rawExchange, startGateway } from './helpers.js';

/**
 * A client that asks `Expect: 100-continue` for a 10-byte body and sends it only once the server
 * has answered "100 Continue"; resolves with everything the server wrote, when it closes.
 */
async function continueThenSend(port: number, path: string): Promise<string> {
  const sock = net.connect(port, '127.0.0.1');
  let out = '';
  sock.setEncoding('utf8');
  const closed = new Promise((r) => sock.once('close', r));
  sock.on('data', (c: string) => {
    out += c;
    // The body goes only once the server has asked for it.
    if (/^HTTP\/1\.1 100 Continue\r\n\r\n$/.test(out)) sock.write('x'.repeat(10));
  });
  sock.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
  );
  await closed;
  return out;
}

test('Expect: 100-continue is answered 413 (no 100) over the body limit, 100 then 200 within it', async () => {
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--limit-request-body', '1000', fixture('echo.mjs')]);
  try {
    const big = await rawExchange(
      gw.port,
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\nExpect: 100-continue\r\n\r\n',
      3000,
    );
    assert.match(big, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(big, /100 Continue/);
    assert.match(big, /connection: close/i);

    const out = await continueThenSend(gw.port, '/upload');
    assert.match(out, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
  } finally {
    await gw.stop();
  }
});

test('the head of an Expect: 100-continue request is scanned once, before the 100, and reused by the pipeline', async (t) => {
  const { config: defaults } = await resolveConfig(parseArgv([]), {});
  // Every scan compares the request line with limit_request_line once: counting the reads counts the scans.
  let scans = 0;
  const config = Object.defineProperty({ ...defaults }, 'limit_request_line', {
    get: () => {
      scans++;
      return defaults.limit_request_line;
    },
  });
  const trust = compileTrust(config.forwarded_allow_ips);
  const stats = new WorkerStats();
  const errorLog = pino({ level: 'silent' });
  const app = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  };
  const pipeline = createPipeline({
    config,
    trust,
    app,
    stats,
    errorLog,
    accessLog: undefined,
    share: new ClientShare({ limit: 0, waitMs: 0, onWait() {} }),
    maxRequests: 0,
    onMaxRequests() {},
  });
  const server = http.createServer();
  const upgrades = new UpgradeGuard({
    ...{ config, trust, stats, errorLog, accessLog: undefined, upgrade: undefined },
    draining: () => false,
  });
  attachRequestPath(server, pipeline, { config, trust, stats, errorLog, upgrades });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;

  const out = await continueThenSend(port, '/');
  assert.match(out, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
  assert.equal(scans, 1);

  // A plain request is scanned once too, in the pipeline.
  scans = 0;
  const plain = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000);
  assert.match(plain, /^HTTP\/1\.1 200 OK/);
  assert.equal(scans, 1);
});
