/**
 * Slow clients cost only themselves (issue 18), on the real CLI with a few connections: at
 * --worker-connections the oldest connection that holds a slot without being served is shed and
 * the newcomer is served; a request that waits on the app is never the one shed; one address is
 * capped by --max-connections-per-client, a trusted proxy is not. The scale (5,000 and 10,000 slow
 * connections) is reliability/slow-clients.ts's business.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SWEEP_MS } from '../src/connection-guard.js';
import { type Gateway, request, startGateway } from './helpers.js';

const SAMPLE_APP = fileURLToPath(new URL('../../app/dist/app.js', import.meta.url));

interface Held {
  sock: net.Socket;
  closed: Promise<void>;
  isClosed: () => boolean;
  out: () => string;
}

/** A connection from `from` that has sent `data`; resolves once connected. */
async function hold(port: number, data: string, from = '127.0.0.1'): Promise<Held> {
  const sock = net.connect({ port, host: '127.0.0.1', localAddress: from });
  let out = '';
  let closed = false;
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => {
    out += c;
  });
  sock.on('error', () => {});
  const done = new Promise<void>((r) =>
    sock.once('close', () => {
      closed = true;
      r();
    }),
  );
  await new Promise((r) => sock.once('connect', r));
  sock.write(data);
  return { sock, closed: done, isClosed: () => closed, out: () => out };
}

const PARTIAL_HEAD = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a\r\n';

/** A GET / on a connection of its own, from `from`: the status, or 0 when the connection was closed unanswered. */
async function getFrom(port: number, from: string): Promise<number> {
  const c = await hold(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', from);
  await c.closed;
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(c.out())?.[1] ?? 0);
}

/** A counter of the gateway's metrics, 0 when it has no such series. */
async function metric(gw: Gateway, sample: string): Promise<number> {
  return (await gw.metric(sample)) ?? 0;
}

test('a worker full of incomplete heads: the oldest is shed, a new client is served; with shedding off it is refused', async () => {
  for (const shed of [true, false]) {
    const gw = await startGateway([
      // Four held connections: with shedding, 80% of 5 (the mark past which the worker trims);
      // without, the whole ceiling of 4.
      ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--worker-connections', shed ? '5' : '4'],
      ...(shed ? [] : ['--shed-connections=false']),
      SAMPLE_APP,
    ]);
    try {
      // Accepted in this order (the kernel's accept queue is first in, first out).
      const heads: Held[] = [];
      for (let i = 0; i < 4; i++) heads.push(await hold(gw.port, PARTIAL_HEAD));
      const status = await getFrom(gw.port, '127.0.0.1');
      if (shed) {
        assert.equal(status, 200, 'the new client is served');
        await heads[0]!.closed;
        assert.deepEqual(
          heads.map((h) => h.isClosed()),
          [true, false, false, false],
          'only the oldest incomplete head was shed',
        );
        assert.equal(heads[0]!.out(), '', 'closed without an answer');
        assert.equal(await metric(gw, 'gateway_connections_shed_total{reason="head"}'), 1);
        assert.equal(await metric(gw, 'gateway_connections_refused_total{reason="worker_full"}'), 0);
      } else {
        assert.equal(status, 0, 'shedding off: the newcomer is closed unanswered');
        assert.deepEqual(
          heads.map((h) => h.isClosed()),
          [false, false, false, false],
        );
        assert.equal(await metric(gw, 'gateway_connections_refused_total{reason="worker_full"}'), 1);
        assert.equal(await metric(gw, 'gateway_connections_shed_total{reason="head"}'), 0);
      }
      for (const h of heads) h.sock.destroy();
    } finally {
      await gw.stop();
    }
  }
});

test('a stalled body is shed, a request waiting on the app is not, even when older', async () => {
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--worker-connections', '2'],
    SAMPLE_APP,
  ]);
  try {
    // The oldest: a request the app takes 4 s to answer (its body complete, nothing owed by the client).
    const waiting = await hold(gw.port, 'GET /slow?ms=4000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // Then an upload that declares 1,000 bytes and sends 10.
    const upload =
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n';
    const stalled = await hold(gw.port, `${upload}0123456789`);
    // Long enough for the body to count as slow: a whole sweep window after the sweep that first saw it.
    await new Promise((r) => setTimeout(r, 2 * SWEEP_MS + 500));
    assert.equal(await getFrom(gw.port, '127.0.0.1'), 200, 'the new client is served');
    await stalled.closed;
    await waiting.closed;
    assert.match(waiting.out(), /^HTTP\/1\.1 200 /, 'the request waiting on the app completed');
    assert.equal(await metric(gw, 'gateway_connections_shed_total{reason="body"}'), 1);
  } finally {
    await gw.stop();
  }
});

test('--max-connections-per-client caps one address; another address is served; a trusted proxy is exempt', async () => {
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--max-connections-per-client', '2'],
    ...['--forwarded-allow-ips', '127.0.0.3'],
    SAMPLE_APP,
  ]);
  try {
    const attacker = [await hold(gw.port, PARTIAL_HEAD, '127.0.0.2'), await hold(gw.port, PARTIAL_HEAD, '127.0.0.2')];
    assert.equal(await getFrom(gw.port, '127.0.0.2'), 0, 'a third connection from the capped address is closed');
    assert.equal(await getFrom(gw.port, '127.0.0.4'), 200, 'another address is served');
    const proxy = [await hold(gw.port, PARTIAL_HEAD, '127.0.0.3'), await hold(gw.port, PARTIAL_HEAD, '127.0.0.3')];
    assert.equal(await getFrom(gw.port, '127.0.0.3'), 200, 'the trusted proxy is not capped');
    assert.equal(await metric(gw, 'gateway_connections_refused_total{reason="per_client"}'), 1);
    assert.ok(
      [...attacker, ...proxy].every((h) => !h.isClosed()),
      'the held connections are untouched',
    );
    // Once one of the capped address's connections closes, it may open another.
    attacker[0]!.sock.destroy();
    await attacker[0]!.closed;
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await getFrom(gw.port, '127.0.0.2');
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 200);
    for (const h of [...attacker, ...proxy]) h.sock.destroy();
    assert.equal((await request(`${gw.url}/healthz`)).status, 200);
  } finally {
    await gw.stop();
  }
});

/** The status of what a held connection got, 0 while it has nothing. */
const statusOf = (h: Held) => Number(/^HTTP\/1\.1 (\d{3})/.exec(h.out())?.[1] ?? 0);
const slowGet = (ms: number) => `GET /slow?ms=${ms} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

test('--max-in-flight-per-client: one address waits its turn, another address and a trusted proxy do not', async () => {
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--max-in-flight-per-client', '2'],
    ...['--forwarded-allow-ips', '127.0.0.3'],
    SAMPLE_APP,
  ]);
  try {
    // Two in the app (4 s each), a third from the same address waits for one of them.
    const first = [await hold(gw.port, slowGet(4000), '127.0.0.2'), await hold(gw.port, slowGet(4000), '127.0.0.2')];
    const third = await hold(gw.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '127.0.0.2');
    assert.equal(await getFrom(gw.port, '127.0.0.4'), 200, 'another address is served at once');
    const proxied = await Promise.all([1, 2, 3].map(() => hold(gw.port, slowGet(100), '127.0.0.3')));
    await Promise.all(proxied.map((h) => h.closed));
    assert.deepEqual(proxied.map(statusOf), [200, 200, 200], 'the trusted proxy had three in the app at once');
    assert.equal(statusOf(third), 0, 'the third request of the busy address is still waiting');
    assert.ok(first.every((h) => !h.isClosed()));
    await third.closed;
    assert.equal(statusOf(third), 200, 'its turn came once one of the first two was answered');
    await Promise.all(first.map((h) => h.closed));
    assert.deepEqual(first.map(statusOf), [200, 200]);
    assert.equal(await metric(gw, 'gateway_client_waits_total{outcome="served"}'), 1);
    assert.equal(await metric(gw, 'gateway_client_waits_total{outcome="timed_out"}'), 0);
  } finally {
    await gw.stop();
  }
});

test('--max-in-flight-per-client: a request that waited `timeout` seconds gets 503, without the app', async () => {
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--max-in-flight-per-client', '1'],
    ...['--timeout', '2'],
    SAMPLE_APP,
  ]);
  try {
    const inApp = await hold(gw.port, slowGet(6000), '127.0.0.2');
    const waiting = await hold(gw.port, slowGet(10), '127.0.0.2');
    await waiting.closed;
    assert.equal(statusOf(waiting), 503, 'the waiting request was refused');
    assert.match(waiting.out(), /too many requests from this address in progress/);
    assert.equal(inApp.isClosed(), false, 'before the request in the app was answered');
    await inApp.closed;
    assert.equal(statusOf(inApp), 200);
    assert.equal(await metric(gw, 'gateway_client_waits_total{outcome="timed_out"}'), 1);
    assert.equal(await metric(gw, 'gateway_http_requests_total{status="503"}'), 1);
  } finally {
    await gw.stop();
  }
});

test('a worker under pressure sheds a request that waits its turn (reason waiting), never the one in the app', async () => {
  const gw = await startGateway([
    ...['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', '--worker-connections', '5'],
    ...['--max-in-flight-per-client', '1'],
    SAMPLE_APP,
  ]);
  try {
    const inApp = await hold(gw.port, slowGet(8000), '127.0.0.2');
    const waiting = [await hold(gw.port, slowGet(10), '127.0.0.2'), await hold(gw.port, slowGet(10), '127.0.0.2')];
    // A whole sweep window after the sweep that first saw them: nothing moved, they count as slow.
    await new Promise((r) => setTimeout(r, 2 * SWEEP_MS + 500));
    const fourth = await hold(gw.port, PARTIAL_HEAD, '127.0.0.4');
    // The fifth connection passes 80% of 5: the oldest one that may be shed goes.
    assert.equal(await getFrom(gw.port, '127.0.0.5'), 200, 'the new client is served');
    await waiting[0]!.closed;
    assert.equal(statusOf(waiting[0]!), 0, 'the oldest waiting request was shed unanswered');
    assert.equal(waiting[1]!.isClosed(), false, 'only one was shed');
    assert.equal(inApp.isClosed(), false, 'the request in the app was not');
    assert.equal(await metric(gw, 'gateway_connections_shed_total{reason="waiting"}'), 1);
    fourth.sock.destroy();
    await inApp.closed;
    assert.equal(statusOf(inApp), 200);
    await waiting[1]!.closed;
    assert.equal(statusOf(waiting[1]!), 200, 'the other waiting request had its turn');
  } finally {
    await gw.stop();
  }
});
