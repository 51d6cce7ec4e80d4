/**
 * Upgrades that cannot hurt anyone else (issue 18), each attack reproduced against the real CLI:
 * an `Upgrade:` on an ordinary route, idle WebSockets filling the slots, a client that floods the
 * echo and never reads, a malformed frame. The nginx side (no Upgrade passed outside /ws, pooled
 * connections never poisoned) is in test/nginx.test.ts and test/websocket-edge.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fillIdle, floodUnread, malformedFrame, openRaw, WS_KEY_HEADERS } from '../../reliability/lib/ws-attacks.js';
import { fixture, rawExchange, request, sleep, startGateway } from './helpers.js';

const SAMPLE_APP = fileURLToPath(new URL('../../app/dist/app.js', import.meta.url));

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

async function accessLines(
  file: string,
  want: (l: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>[]> {
  // The access log is buffered: a line is on disk a moment after the connection closes.
  for (let i = 0; i < 50; i++) {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter(want);
    if (lines.length > 0) return lines;
    await sleep(100);
  }
  return [];
}

test('an Upgrade on an ordinary route: answered with Connection: close, an X-Request-Id, an access-log line and metrics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-upgrade-'));
  const log = join(dir, 'access.log');
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--access-logfile', log],
    SAMPLE_APP,
  ]);
  try {
    for (const upgrade of ['websocket', 'h2c']) {
      const key = upgrade === 'websocket' ? WS_KEY_HEADERS : '';
      const out = await rawExchange(
        gw.port,
        `GET /?via=${upgrade} HTTP/1.1\r\nHost: x\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\n${key}\r\n`,
      );
      const head = out.slice(0, out.indexOf('\r\n\r\n'));
      // The plugin answers the route and then destroys the socket: a proxy that pooled it on a
      // `keep-alive` would send the next request into a closed connection.
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.match(head, /\r\nConnection: close(\r\n|$)/i);
      assert.doesNotMatch(head, /keep-alive/i);
      const id = /\r\nX-Request-Id: (\S+)/i.exec(head)?.[1];
      assert.ok(id, head);
      const [line] = await accessLines(log, (l) => l.request_id === id);
      assert.ok(line, `no access-log line for ${id}`);
      assert.equal(line.path, `/?via=${upgrade}`);
      assert.equal(line.status, 200);
      assert.equal(line.upgrade, upgrade);
    }
    assert.equal(await gw.metric('gateway_upgrades_total{outcome="answered"}'), 2);
    assert.ok((await gw.metric('gateway_http_requests_total{status="200"}'))! >= 2);
    // A real WebSocket still switches, with its id in the 101.
    const ws = await openRaw(gw.port, '/ws');
    assert.equal(ws.status, 101);
    assert.match(ws.head, /\r\nX-Request-Id: \S+/i);
    assert.match(ws.head, /\r\nConnection: Upgrade/i);
    ws.sock.destroy();
    assert.equal(await gw.metric('gateway_upgrades_total{outcome="switched"}'), 1);
  } finally {
    await gw.stop();
  }
});

test('idle WebSockets cannot take every slot: per-client and per-worker caps refuse the extra ones, requests still pass', async () => {
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--worker-connections', '100'],
    ...['--max-upgraded-connections', '40', '--max-upgraded-per-client', '10'],
    SAMPLE_APP,
  ]);
  try {
    // One client (one address) asks for 30: 10 open, 20 refused with 429.
    const one = await fillIdle(gw.port, { count: 30, requests: 20 });
    assert.deepEqual(one.status, { 101: 10, 429: 20 });
    assert.equal(one.failed, 0);
    // Eight clients ask for 80 (10 each): 40 open, the rest 503, and ordinary requests pass.
    const addresses = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
    const many = await fillIdle(gw.port, { count: 80, addresses, requests: 20 });
    assert.equal(many.status[101], 40);
    assert.equal(many.status[503], 40);
    assert.equal(many.failed, 0, 'ordinary requests failed while the WebSockets were open');
    assert.equal(await gw.metric('gateway_upgrades_total{outcome="refused_client_cap"}'), 20);
    assert.equal(await gw.metric('gateway_upgrades_total{outcome="refused_worker_cap"}'), 40);
    const refused = await rawExchange(
      gw.port,
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${WS_KEY_HEADERS}\r\n`,
    );
    // Nothing is open now: the sockets of fillIdle were closed, so this one switches.
    assert.match(refused, /^HTTP\/1\.1 101 /);
  } finally {
    await gw.stop();
  }
});

test('an upgraded connection on which nothing moves is closed after --upgrade-idle-timeout', async () => {
  // The listener fixture's WebSocket server never pings: only the gateway's timeout can end it.
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--upgrade-idle-timeout', '0.3'],
    fixture('ws-listener.mjs'),
  ]);
  try {
    const ws = await openRaw(gw.port, '/');
    assert.equal(ws.status, 101);
    assert.equal(await ws.closed, 'closed');
    assert.equal(await gw.metric('gateway_upgrades_total{outcome="idle_timeout"}'), 1);
  } finally {
    await gw.stop();
  }
});

test('a malformed frame: the app closes with 1002, one info line without a stack, counted in the metrics', async () => {
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--log-level', 'info'],
    SAMPLE_APP,
  ]);
  try {
    for (let i = 0; i < 3; i++) assert.equal(await malformedFrame(gw.port), 1002);
    assert.equal(await gw.metric('gateway_websocket_server_closes_total{code="1002"}'), 3);
    assert.equal((await request(`${gw.baseUrl}/`)).status, 200);
    await gw.stop();
    // The app's own log (pino on the worker's stdout): one line per frame, info (30), no stack.
    const lines = gw.stdout.filter((l) => l.includes('WS_ERR_INVALID_OPCODE'));
    assert.equal(lines.length, 3, gw.stdout.join('\n').slice(-3000));
    for (const l of lines) {
      assert.equal(JSON.parse(l).level, 30, l);
      assert.doesNotMatch(l, /stack/, l);
    }
  } finally {
    await gw.stop();
  }
});

test('a client that floods the echo with 1 MiB frames and never reads: the worker stops reading it, its memory stays bounded', async () => {
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', SAMPLE_APP]);
  try {
    const [worker] = gw.readyWorkers();
    assert.ok(worker);
    const before = rssMb(worker);
    const ws = await openRaw(gw.port, '/ws', { noRead: true });
    assert.equal(ws.status, 101);
    // 512 MiB offered; without back-pressure the worker queues every echo it cannot write.
    const r = await floodUnread(ws, { frames: 512, bytes: 1024 * 1024 });
    assert.ok(r.stalled || r.closed !== undefined, `the worker took all ${r.sent} frames`);
    assert.ok(r.sent < 512, `sent ${r.sent}`);
    const grown = rssMb(worker) - before;
    assert.ok(grown < 200, `worker RSS grew ${Math.round(grown)} MB for ${r.sent} MiB sent`);
    // And it keeps serving everyone else.
    assert.equal((await request(`${gw.baseUrl}/`)).status, 200);
    ws.sock.destroy();
  } finally {
    await gw.stop();
  }
});
