/**
 * The master's own health checks, /livez and /readyz, on --metrics-bind and --health-bind: their
 * answers from the master's view of its workers (unit), that they never go through a worker (200
 * while every worker blocks its loop), and the shutdown delay (not ready at TERM, still serving,
 * then refused; a second TERM or INT cuts it short).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { healthAnswer, healthView } from '../src/health.js';
import { fixture, Gateway, request, sleep, startGateway } from './helpers.js';

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });

/** Polls `probe` (bounded) until it answers `status`; returns the body of that answer. */
async function until(url: string, status: number, limit = 100): Promise<{ status: string; workers: object }> {
  let last = '';
  for (let i = 0; i < limit; i++) {
    const r = await request(url).catch((err: Error) => ({ status: 0, body: err.message }));
    if (r.status === status) return JSON.parse(r.body) as { status: string; workers: object };
    last = `${r.status} ${r.body}`;
    await sleep(100);
  }
  throw new Error(`${url} never answered ${status}; last: ${last}`);
}

describe('the answers, from the master view', () => {
  const now = 100_000;
  const w = (state: 'booting' | 'ready' | 'stopping', silentS: number) => ({ state, lastBeat: now - silentS * 1000 });
  const view = (workers: ReturnType<typeof w>[], stopping = false) =>
    healthView(workers, { target: 2, stopping, timeoutS: 30 }, now);

  test('/livez fails only when every worker past its boot has missed its heartbeat for timeout', () => {
    assert.equal(view([w('ready', 29), w('ready', 29)]).hung, false, 'busy, not hung');
    assert.equal(view([w('ready', 31), w('ready', 1)]).hung, false, 'one hung of two');
    assert.equal(view([w('ready', 31), w('stopping', 31)]).hung, true);
    assert.equal(view([w('ready', 31), w('booting', 100)]).hung, true, 'a booting worker does not count either way');
    assert.equal(view([w('booting', 100)]).hung, false, 'only booting: boot_timeout judges it');
    assert.equal(view([]).hung, false, 'none (a crash-loop backoff): the master is still doing its job');
    assert.deepEqual(healthAnswer('/livez', view([w('ready', 31)])), {
      status: 503,
      body: '{"status":"hung","workers":{"ready":1,"target":2}}\n',
    });
    assert.equal(healthAnswer('/livez', view([w('ready', 1)], true)).status, 200, 'stopping is still alive');
  });

  test('/readyz: at least one worker ready, and not stopping', () => {
    assert.deepEqual(healthAnswer('/readyz', view([w('ready', 0), w('booting', 0)])), {
      status: 200,
      body: '{"status":"ok","workers":{"ready":1,"target":2}}\n',
    });
    assert.deepEqual(healthAnswer('/readyz', view([w('booting', 0), w('stopping', 0)])), {
      status: 503,
      body: '{"status":"no worker ready","workers":{"ready":0,"target":2}}\n',
    });
    assert.equal(healthAnswer('/readyz', view([w('ready', 0)], true)).status, 503);
    assert.equal(JSON.parse(healthAnswer('/readyz', view([w('ready', 0)], true)).body).status, 'stopping');
  });
});

describe('answered by the master', () => {
  test('/livez and /readyz answer 200 on both addresses while every worker blocks its loop (less than --timeout)', async () => {
    const gw = await startGateway([
      ...['-w', '2', '-b', '127.0.0.1:0', '--timeout', '20'],
      ...['--metrics-bind', '127.0.0.1:0', '--health-bind', '127.0.0.1:0', fixture('echo.mjs')],
    ]);
    try {
      await gw.until('2 ready workers', () => gw.readyWorkers().length === 2);
      const metricsBase = gw.metricsUrl.replace(/\/metrics$/, '');
      // One blocking request per worker: the second is accepted by the worker that is not blocked yet.
      const first = request(`${gw.url}/block?ms=6000`);
      await sleep(300);
      const second = request(`${gw.url}/block?ms=6000`);
      const probes: Array<{ sent: number; answered: number; status: number; url: string }> = [];
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        for (const url of [`${gw.healthUrl}/livez`, `${gw.healthUrl}/readyz`, `${metricsBase}/livez`]) {
          const sent = Date.now();
          const r = await request(url);
          probes.push({ sent, answered: Date.now(), status: r.status, url });
        }
        await sleep(100);
      }
      type Block = { pid: number; from: number; to: number };
      const blocks = [(await first).json<Block>(), (await second).json<Block>()];
      assert.notEqual(blocks[0]!.pid, blocks[1]!.pid, 'both workers were blocked');
      const from = Math.max(...blocks.map((b) => b.from));
      const to = Math.min(...blocks.map((b) => b.to));
      const whileAllBlocked = probes.filter((p) => p.sent >= from && p.answered <= to);
      assert.ok(
        whileAllBlocked.length >= 3,
        `probes answered while both loops were blocked: ${whileAllBlocked.length}`,
      );
      assert.deepEqual(
        probes.filter((p) => p.status !== 200),
        [],
        'every probe 200',
      );
      assert.deepEqual(await until(`${gw.healthUrl}/readyz`, 200), { status: 'ok', workers: { ready: 2, target: 2 } });
      assert.equal((await request(`${gw.healthUrl}/metrics`)).status, 404, 'the health address has no metrics');
      assert.equal((await request(`${gw.url}/livez`)).status, 404, 'the app answers its own port, not the probes');
    } finally {
      await gw.stop();
    }
  });

  test('/livez turns 503 while every worker is hung past --timeout, and 200 again once it is replaced', async () => {
    const gw = await startGateway([
      ...['-w', '1', '-b', '127.0.0.1:0', '--timeout', '1', '--health-bind', '127.0.0.1:0'],
      fixture('echo.mjs'),
    ]);
    try {
      // Survives SIGABRT: hung for the 2 s until the SIGKILL, with no other worker past its boot.
      const hung = request(`${gw.url}/block-ignoring-abort?ms=60000`).catch(() => undefined);
      assert.equal((await until(`${gw.healthUrl}/livez`, 503)).status, 'hung');
      await until(`${gw.healthUrl}/livez`, 200);
      await until(`${gw.healthUrl}/readyz`, 200);
      await hung;
    } finally {
      await gw.stop();
    }
  });

  test('/readyz is 503 until a worker is ready, /livez 200 meanwhile (a boot that blocks its loop is no hang)', async () => {
    const gw = new Gateway(
      ['-w', '1', '-b', '127.0.0.1:0', '--timeout', '1', '--health-bind', '127.0.0.1:0', fixture('slow-boot.mjs')],
      { BOOT_MS: '3000' },
    );
    try {
      await gw.waitFor(/^Health checks at:/);
      assert.deepEqual(await until(`${gw.healthUrl}/readyz`, 503), {
        status: 'no worker ready',
        workers: { ready: 0, target: 1 },
      });
      assert.equal((await request(`${gw.healthUrl}/livez`)).status, 200);
      await gw.waitFor(/1 worker ready$/);
      await until(`${gw.healthUrl}/readyz`, 200);
    } finally {
      await gw.stop();
    }
  });
});

describe('--shutdown-delay', () => {
  test('TERM: /readyz turns 503 at once, requests still succeed during the delay, then connections are refused', async () => {
    const gw = await startGateway([
      ...['-w', '2', '-b', '127.0.0.1:0', '--health-bind', '127.0.0.1:0', '--shutdown-delay', '6'],
      fixture('echo.mjs'),
    ]);
    assert.equal((await request(`${gw.healthUrl}/readyz`)).status, 200);
    gw.signal('SIGTERM');
    await gw.waitFor(/^Shutdown delay: not ready from now on, serving 6s more/);
    const r = await request(`${gw.healthUrl}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(r.json().status, 'stopping');
    assert.equal((await request(`${gw.healthUrl}/livez`)).status, 200, 'alive while it stops');
    // New connections are still accepted and served: the balancer has not caught up yet.
    for (let i = 0; i < 5; i++) assert.equal((await request(`${gw.url}/`)).status, 200);
    assert.equal(gw.count(/^Shutting down gracefully$/), 0, 'those were served inside the delay');
    await gw.waitFor(/^Shutting down gracefully$/);
    let wasRefused = false;
    for (let i = 0; i < 40 && !wasRefused; i++) {
      wasRefused = await refused(gw.port);
      if (!wasRefused) await sleep(50);
    }
    assert.ok(wasRefused, 'refused once the delay is over');
    assert.equal(await gw.exited, 0);
  });

  test('a second TERM ends the delay and drains gracefully: the request in flight finishes', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--shutdown-delay', '120', fixture('echo.mjs')]);
    const inflight = request(`${gw.url}/slow?ms=1500`);
    await sleep(300);
    gw.signal('SIGTERM');
    await gw.waitFor(/^Shutdown delay:/);
    gw.signal('SIGTERM');
    await gw.waitFor(/^Shutdown delay cut short by a second TERM$/);
    await gw.waitFor(/^Shutting down gracefully$/);
    assert.equal((await inflight).status, 200);
    assert.equal(await gw.exited, 0);
  });

  test('INT during the delay is a quick stop', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--shutdown-delay', '120', fixture('echo.mjs')]);
    const inflight = request(`${gw.url}/slow?ms=20000`).then(
      () => 'completed',
      () => 'cut',
    );
    await sleep(300);
    gw.signal('SIGTERM');
    await gw.waitFor(/^Shutdown delay:/);
    gw.signal('SIGINT');
    assert.equal(await gw.exited, 0);
    assert.equal(await inflight, 'cut');
    assert.equal(gw.count(/^Shutting down$/), 1);
  });
});
