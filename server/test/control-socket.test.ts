/**
 * --control-socket and `nodicorn ctl`, driven through the real bin against the real CLI: every
 * command (workers, stats, reload, scale, kill, drain), the socket's mode, JSON errors with their
 * codes and exit statuses, and the socket gone once the master exits.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixture, type Gateway, request, sleep, startGateway } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/nodicorn.js', import.meta.url));

interface Answer {
  ok: boolean;
  command?: string;
  error?: { code: string; message: string };
  [k: string]: unknown;
}
interface WorkerRow {
  pid: number;
  generation: number;
  state: string;
  age_s: number;
  requests: number;
  in_flight: number;
  rss_bytes: number | null;
  heartbeat_age_s: number;
}

/** `nodicorn ctl ARGS`: its parsed stdout and exit status. */
function ctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ answer: Answer; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, 'ctl', ...args],
      { env: { ...process.env, GATEWAY_CONTROL_SOCKET: '', ...env }, timeout: 20_000 },
      (err, stdout) => {
        const code = err ? ((err as { code?: number }).code ?? -1) : 0;
        try {
          resolve({ answer: JSON.parse(stdout) as Answer, code: typeof code === 'number' ? code : -1 });
        } catch {
          reject(new Error(`ctl ${args.join(' ')}: not JSON (exit ${code}): ${stdout}`));
        }
      },
    );
  });
}

/** Raw lines on the socket, for what the client never sends (bad JSON); one answer line each. */
function rawLines(path: string, lines: string[]): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(lines.map((l) => `${l}\n`).join('')));
    sock.on('data', (c: string) => {
      buf += c;
      const answers = buf.split('\n').filter(Boolean);
      if (answers.length === lines.length) {
        sock.destroy();
        resolve(answers.map((a) => JSON.parse(a) as Answer));
      }
    });
    sock.on('error', reject);
    sock.setTimeout(10_000, () => sock.destroy(new Error('no answer')));
  });
}

/** Polls `workers` (bounded) until `test` holds; returns the last rows. */
async function workersUntil(socket: string, what: string, test: (rows: WorkerRow[]) => boolean): Promise<WorkerRow[]> {
  let rows: WorkerRow[] = [];
  for (let i = 0; i < 150; i++) {
    rows = (await ctl(['--socket', socket, 'workers'])).answer.workers as WorkerRow[];
    if (test(rows)) return rows;
    await sleep(200);
  }
  throw new Error(`never ${what}: ${JSON.stringify(rows)}`);
}

const ready = (rows: WorkerRow[]) => rows.filter((w) => w.state === 'ready');

describe('the control socket of a running master', () => {
  let gw: Gateway;
  let socket: string;
  before(async () => {
    socket = join(mkdtempSync(join(tmpdir(), 'gw-ctl-')), 'nodicorn.sock');
    gw = await startGateway([
      ...['-w', '2', '-b', '127.0.0.1:0', '--control-socket', socket, '--metrics-bind', '127.0.0.1:0'],
      fixture('echo.mjs'),
    ]);
  });
  after(() => gw.stop());

  test('a unix socket of mode 0600, announced in the log', async () => {
    assert.ok(statSync(socket).isSocket());
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    await gw.waitFor(new RegExp(`^Control socket at: ${socket}$`));
  });

  test('workers: pid, generation, state, age, requests, in flight, RSS, heartbeat age of each', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await request(`${gw.url}/`)).status, 200);
    const { answer, code } = await ctl(['--socket', socket, 'workers']);
    assert.equal(code, 0);
    assert.equal(answer.ok, true);
    const master = answer.master as { pid: number; generation: number; target: number; phase: string };
    assert.equal(master.pid, gw.proc.pid);
    assert.deepEqual([master.generation, master.target, master.phase], [1, 2, 'running']);
    const rows = answer.workers as WorkerRow[];
    assert.deepEqual(rows.map((w) => w.pid).sort(), gw.liveWorkers().sort());
    for (const w of rows) {
      assert.equal(w.generation, 1);
      assert.equal(w.state, 'ready');
      assert.ok(w.age_s > 0 && w.heartbeat_age_s >= 0 && w.heartbeat_age_s < 30, JSON.stringify(w));
      assert.ok((w.rss_bytes ?? 0) > 1024 * 1024, `rss ${w.rss_bytes}`);
      assert.equal(w.in_flight, 0);
    }
    assert.equal(
      rows.reduce((n, w) => n + w.requests, 0),
      6,
    );
  });

  test('stats: the figures /metrics serves, the same numbers', async () => {
    await request(`${gw.url}/missing`);
    const { answer } = await ctl(['--socket', socket, 'stats']);
    const metrics = answer.metrics as Record<string, number | Record<string, number>>;
    const text = (await request(gw.metricsUrl)).body;
    const sample = (line: string) =>
      Number(new RegExp(`^${line.replace(/[{}.+]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const requests = metrics.gateway_http_requests_total as Record<string, number>;
    assert.equal(requests['status=200'], sample('gateway_http_requests_total{status="200"}'));
    assert.equal(requests['status=404'], sample('gateway_http_requests_total{status="404"}'));
    assert.equal(requests['status=404'], 1);
    assert.equal(answer.requests, requests['status=200']! + requests['status=404']!);
    assert.equal(
      metrics.gateway_http_request_duration_seconds_count,
      sample('gateway_http_request_duration_seconds_count'),
    );
    assert.equal(
      (metrics.gateway_workers as Record<string, number>)['state=ready'],
      sample('gateway_workers{state="ready"}'),
    );
    assert.equal(metrics.gateway_workers_target, 2);
  });

  test('bad JSON, no command, an unknown command: JSON errors with their codes; the connection serves on', async () => {
    const [notJson, noCommand, good] = await rawLines(socket, [
      '{"command": nope',
      '{"args":[]}',
      '{"command":"workers"}',
    ]);
    assert.equal(notJson!.ok, false);
    assert.equal(notJson!.error!.code, 'GW_ERR_CTL_BAD_REQUEST');
    assert.equal(noCommand!.error!.code, 'GW_ERR_CTL_BAD_REQUEST');
    assert.equal(good!.ok, true);
    const unknown = await ctl(['--socket', socket, 'frobnicate']);
    assert.equal(unknown.answer.error!.code, 'GW_ERR_CTL_UNKNOWN_COMMAND');
    assert.match(unknown.answer.error!.message, /workers, stats, reload, scale, kill, drain/);
    assert.equal(unknown.code, 2);
    const badScale = await ctl(['--socket', socket, 'scale', 'many']);
    assert.deepEqual([badScale.answer.error!.code, badScale.code], ['GW_ERR_CTL_BAD_ARGUMENT', 2]);
    const noWorker = await ctl(['--socket', socket, 'kill', '1']);
    assert.deepEqual([noWorker.answer.error!.code, noWorker.code], ['GW_ERR_CTL_NO_WORKER', 1]);
  });

  test('scale 3, then workers lists 3 ready', async () => {
    const { answer } = await ctl(['--socket', socket, 'scale', '3']);
    assert.deepEqual([answer.ok, answer.previous, answer.target], [true, 2, 3]);
    await workersUntil(socket, '3 ready', (rows) => ready(rows).length === 3 && rows.length === 3);
  });

  test('kill PID: that worker stops and a new one takes its place', async () => {
    const [victim] = ready(await workersUntil(socket, '3 ready', (rows) => ready(rows).length === 3));
    const { answer, code } = await ctl(['--socket', socket, 'kill', String(victim!.pid)]);
    assert.deepEqual([answer.ok, answer.pid, code], [true, victim!.pid, 0]);
    const rows = await workersUntil(
      socket,
      'replaced',
      (r) => ready(r).length === 3 && r.length === 3 && !r.some((w) => w.pid === victim!.pid),
    );
    assert.ok(rows.every((w) => w.pid !== victim!.pid));
    assert.equal(await gw.metric('gateway_worker_restarts_total{reason="kill"}'), 1);
  });

  test('reload: a new generation of workers, as many as the configuration says, replaces the old', async () => {
    const old = (await ctl(['--socket', socket, 'workers'])).answer.workers as WorkerRow[];
    const { answer } = await ctl(['--socket', socket, 'reload']);
    assert.deepEqual([answer.ok, answer.from_generation], [true, 1]);
    const rows = await workersUntil(
      socket,
      'generation 2 alone',
      // A reload reads the configuration again, -w 2 among it: like TTIN, `scale` lasts until then.
      (r) => r.length === 2 && r.every((w) => w.generation === 2 && w.state === 'ready'),
    );
    assert.ok(rows.every((w) => !old.some((o) => o.pid === w.pid)));
    assert.equal(((await ctl(['--socket', socket, 'workers'])).answer.master as { generation: number }).generation, 2);
  });
});

test('drain: /readyz 503 at once while requests are still served; a TERM then stops at once; the socket is removed', async () => {
  const socket = join(mkdtempSync(join(tmpdir(), 'gw-ctl-')), 'nodicorn.sock');
  const gw = await startGateway(
    ['-w', '1', '-b', '127.0.0.1:0', '--metrics-bind', '127.0.0.1:0', fixture('echo.mjs')],
    // From the environment, as the container image sets it; the client reads the same variable.
    { GATEWAY_CONTROL_SOCKET: socket, GATEWAY_SHUTDOWN_DELAY: '60' },
  );
  try {
    const readyz = `${gw.metricsUrl.replace(/\/metrics$/, '')}/readyz`;
    assert.equal((await request(readyz)).status, 200);
    const { answer, code } = await ctl(['drain'], { GATEWAY_CONTROL_SOCKET: socket });
    assert.deepEqual([answer.ok, answer.draining, answer.already, code], [true, true, false, 0]);
    assert.equal((await request(readyz)).status, 503);
    assert.equal((await request(`${gw.url}/`)).status, 200, 'still serving');
    const again = await ctl(['drain'], { GATEWAY_CONTROL_SOCKET: socket });
    assert.equal(again.answer.already, true);
    const workers = await ctl(['workers'], { GATEWAY_CONTROL_SOCKET: socket });
    assert.equal((workers.answer.master as { draining: boolean }).draining, true);
    const reload = await ctl(['reload'], { GATEWAY_CONTROL_SOCKET: socket });
    assert.deepEqual([reload.answer.error?.code, reload.code], ['GW_ERR_CTL_STATE', 1]);
    // Out of rotation already: the 60 s shutdown delay is not waited for again.
    gw.signal('SIGTERM');
    assert.equal(await gw.exited, 0);
    assert.ok(gw.count(/^Shutdown delay cut short/) === 1, 'the TERM ended the drain state');
  } finally {
    await gw.stop();
  }
  assert.equal(existsSync(socket), false, 'the socket is removed on exit');
  const gone = await ctl(['--socket', socket, 'workers']);
  assert.deepEqual([gone.answer.error?.code, gone.code], ['GW_ERR_CTL_CONNECT', 1]);
});

test('ctl without a socket to talk to: a JSON error, GW_ERR_CTL_CONNECT', async () => {
  const { answer, code } = await ctl(['workers']);
  assert.deepEqual([answer.ok, answer.error?.code, code], [false, 'GW_ERR_CTL_CONNECT', 1]);
});
