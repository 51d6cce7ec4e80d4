/**
 * Process management through real signals on the real CLI: graceful and quick stops, worker
 * counts, crash recovery, hung-worker detection, recycling, reloads (good and bad code), log
 * reopening and the pid file.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fixture, loadLoop, request, sleep, startGateway } from './helpers.js';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };


describe('stopping', () => {
  test('TERM: in-flight requests finish, new connections are refused, exit 0', async () => {
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    const inflight = request(`${gw.url}/slow?ms=1500`);
    await sleep(300);
    gw.signal('SIGTERM');
    await gw.waitFor(/Shutting down gracefully/);
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.json().slept, 1500);
    assert.equal(await gw.exited, 0);
    await assert.rejects(request(`${gw.url}/`), /ECONNREFUSED/);
  });

  test('TERM closes idle keep-alive connections instead of waiting for them', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--keep-alive', '60', fixture('echo.mjs')]);
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => http.get(`${gw.url}/`, { agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject));
    gw.signal('SIGTERM');
    // With a 60 s keep-alive and a 30 s graceful timeout, only closing idle connections lets it exit before either.
    assert.equal(await gw.exited, 0);
    assert.ok(gw.count(/still running .* after the stop: SIGKILL/) === 0);
    agent.destroy();
  });

  test('TERM: a request in flight on a kept-alive connection is answered with Connection: close', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--keep-alive', '60', fixture('echo.mjs')]);
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true });
    const reply = request(`${gw.url}/slow?ms=1000`, { agent });
    await sleep(300);
    gw.signal('SIGTERM');
    const r = await reply;
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close');
    assert.equal(await gw.exited, 0);
    assert.equal(gw.count(/still running .* after the stop: SIGKILL/), 0);
    agent.destroy();
  });

  test('TERM answers a connection accepted before the drain whose request arrives after it', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    const net = await import('node:net');
    const sock = net.connect(gw.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    await sleep(200); // accepted by the worker, no request yet
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => { out += c; });
    const closed = new Promise((r) => sock.once('close', r));
    gw.signal('SIGTERM');
    await gw.waitFor(/Worker draining/);
    sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    assert.match(out, /^HTTP\/1\.1 200 OK/);
    assert.match(out, /connection: close/i);
    assert.equal(await gw.exited, 0);
  });

  test('INT is a quick stop: in-flight requests are cut', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    const inflight = request(`${gw.url}/slow?ms=5000`).then(() => 'completed', () => 'cut');
    await sleep(300);
    gw.signal('SIGINT');
    assert.equal(await gw.exited, 0);
    assert.equal(await inflight, 'cut');
  });

  test('a second TERM forces the stop', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    const inflight = request(`${gw.url}/slow?ms=20000`).then(() => 'completed', () => 'cut');
    await sleep(300);
    gw.signal('SIGTERM');
    await gw.waitFor(/Shutting down gracefully/);
    gw.signal('SIGTERM');
    await gw.waitFor(/Forcing shutdown/);
    assert.equal(await gw.exited, 0);
    assert.equal(await inflight, 'cut');
  });

  test('the pid file holds the master pid while it runs, and a second master refuses to start on it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-pid-'));
    const pidfile = join(dir, 'gw.pid');
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '-p', pidfile, fixture('echo.mjs')]);
    try {
      assert.equal(readFileSync(pidfile, 'utf8').trim(), String(gw.proc.pid));
      const second = await import('node:child_process').then((cp) => cp.spawnSync(process.execPath,
        [join(import.meta.dirname, '../dist/cli.js'), '-b', '127.0.0.1:0', '-p', pidfile, fixture('echo.mjs')], { encoding: 'utf8', timeout: 20_000 }));
      assert.equal(second.status, 1);
      assert.match(second.stderr, /GW_ERR_PIDFILE: already running on pid \d+/);
    } finally { await gw.stop(); }
    assert.equal(existsSync(pidfile), false, 'removed on exit');
  });
});

describe('worker count', () => {
  test('TTIN adds a worker, TTOU removes one', async () => {
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    try {
      gw.signal('SIGTTIN');
      await gw.waitFor(/^Workers: 3$/);
      await gw.until('3 ready workers', () => gw.readyWorkers().length === 3);
      // One at a time: two identical pending signals merge into one in the kernel.
      gw.signal('SIGTTOU');
      await gw.waitFor(/^Workers: 2$/);
      gw.signal('SIGTTOU');
      await gw.waitFor(/^Workers: 1$/);
      await gw.waitFor(/Worker exiting/, 2);
      await gw.until('1 worker left', () => gw.liveWorkers().length === 1);
      const [last] = gw.liveWorkers();
      assert.equal((await request(`${gw.url}/`)).json().pid, last);
      gw.signal('SIGTTOU');
      await gw.waitFor(/^Workers: 1$/, 2);
      assert.equal((await request(`${gw.url}/`)).status, 200, 'never below one');
    } finally { await gw.stop(); }
  });
});

describe('failures', () => {
  test('a worker killed with SIGKILL is replaced at once, and the log says why', async () => {
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    try {
      await gw.until('2 ready workers', () => gw.readyWorkers().length === 2);
      const [victim] = gw.readyWorkers();
      process.kill(victim!, 'SIGKILL');
      await gw.waitFor(new RegExp(`Worker \\(pid:${victim}\\) was sent SIGKILL! Perhaps out of memory\\?`));
      await gw.until('a replacement to be ready', () => gw.readyWorkers().length === 2);
      assert.ok(!gw.readyWorkers().includes(victim!));
    } finally { await gw.stop(); }
  });

  test('an uncaught error in a worker gets it replaced without a failed request', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    try {
      const first = (await request(`${gw.url}/uncaught`)).json().pid as number;
      await gw.waitFor(/had an uncaught error: replacing it/);
      await gw.waitFor(/Booting worker/, 2);
      await gw.until('the old worker to exit', () => !alive(first));
      const next = (await request(`${gw.url}/`)).json().pid;
      assert.notEqual(next, first);
    } finally { await gw.stop(); }
  });

  test('a hung worker (event loop blocked past --timeout) is aborted and replaced; the other keeps serving', async () => {
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', '--timeout', '2', fixture('echo.mjs')]);
    try {
      await gw.until('2 ready workers', () => gw.readyWorkers().length === 2);
      const pids = new Set(gw.readyWorkers());
      const hung = request(`${gw.url}/block?ms=60000`).then(() => 'answered', () => 'cut');
      const line = await gw.waitFor(/WORKER TIMEOUT \(pid:\d+\)/);
      const hungPid = Number(/pid:(\d+)/.exec(line.msg!)![1]);
      assert.ok(pids.has(hungPid));
      // Meanwhile the other worker answers (the hung one cannot accept).
      const other = [...pids].find((p) => p !== hungPid);
      for (let i = 0; i < 5; i++) assert.equal((await request(`${gw.url}/`)).json().pid, other);
      assert.equal(await hung, 'cut');
      await gw.until('the hung worker to be gone', () => !alive(hungPid));
      await gw.until('a replacement to be ready', () => gw.readyWorkers().length === 2);
      assert.ok(!gw.readyWorkers().includes(hungPid));
    } finally { await gw.stop(); }
  });

  test('a crash loop backs off instead of spinning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-loop-'));
    const app = join(dir, 'app.mjs');
    copyFileSync(fixture('echo.mjs'), app);
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', app]);
    try {
      // The code on disk turns bad, then the worker dies: every respawn fails to load it.
      writeFileSync(app, 'throw new Error("bad on disk")\n');
      const pid = (await request(`${gw.url}/`)).json().pid as number;
      process.kill(pid, 'SIGKILL');
      await gw.waitFor(/Workers keep dying young \(3 in a row\)/);
      const delays = gw.lines.map((l) => /next spawn in (\d+) ms/.exec(l.msg ?? '')?.[1]).filter(Boolean).map(Number);
      assert.deepEqual(delays.slice(0, 2), [200, 400], 'exponential');
      assert.equal(gw.exitCode, undefined, 'the master stays up');
      // Good code again: the next respawn succeeds and serving resumes.
      copyFileSync(fixture('echo.mjs'), app);
      await gw.until('serving again', () => gw.count(/Worker ready|workers? ready/) > 0 && gw.count(/Booting worker/) >= 4);
      await gw.until('a 200', () => true);
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) { status = await request(`${gw.url}/`).then((r) => r.status, () => 0); if (status !== 200) await sleep(100); }
      assert.equal(status, 200);
    } finally { await gw.stop(); }
  });
});

describe('recycling', () => {
  test('--max-requests recycles workers one at a time, the replacement ready first: no failed request', async () => {
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', '--max-requests', '30', '--max-requests-jitter', '5', fixture('echo.mjs')]);
    try {
      const pids = new Set<number>();
      const res = await loadLoop(async () => {
        const r = await request(`${gw.url}/`);
        pids.add(r.json().pid as number);
        return r;
      }, { concurrency: 4, until: () => gw.count(/reached max requests/) >= 4, maxRequests: 20_000 });
      assert.deepEqual(res.failed, []);
      assert.ok(gw.count(/reached max requests: replacing it/) >= 3, `several recycles happened (${gw.count(/reached max requests/)}):\n${gw.stderrText}`);
      assert.ok(pids.size >= 4, `requests were served by successive workers (${pids.size})`);
    } finally { await gw.stop(); }
  });
});

describe('memory ceiling', () => {
  test('--max-worker-memory recycles a worker past the ceiling, replacement first, while requests keep succeeding', async () => {
    // 1 MiB: every Node process is past it, so each worker is replaced in turn, one at a time.
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--max-worker-memory', '1', fixture('echo.mjs')]);
    try {
      const res = await loadLoop(() => request(`${gw.url}/`), { concurrency: 2, until: () => gw.count(/passed the memory ceiling: replacing it/) >= 2, maxRequests: 50_000 });
      assert.deepEqual(res.failed, []);
      await gw.waitFor(/Booting worker/, 3); // the second replacement
    } finally { await gw.stop(); }
  });
});

describe('reload (HUP)', () => {
  test('new workers load the new code and are ready before the old ones stop; a broken deploy keeps the old code serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-reload-'));
    const app = join(dir, 'app.mjs');
    const version = (v: string) => readFileSync(fixture('echo.mjs'), 'utf8').replace("process.env.FIXTURE_VERSION ?? 'v1'", `'${v}'`);
    writeFileSync(app, version('v1'));
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', app]);
    try {
      await gw.until('2 ready workers', () => gw.readyWorkers().length === 2);
      const before = new Set(gw.readyWorkers());
      let stop = false;
      const load = loadLoop(async () => {
        const post = Math.random() < 0.5;
        return post ? request(`${gw.url}/upload`, { method: 'POST', body: 'x'.repeat(2000) }) : request(`${gw.url}/`);
      }, { concurrency: 4, until: () => stop, maxRequests: 20_000 });

      writeFileSync(app, version('v2'));
      gw.signal('SIGHUP');
      await gw.waitFor(/Reload complete/);
      // A broken deploy: the old (v2) workers keep serving.
      writeFileSync(app, 'export default 42;\n');
      gw.signal('SIGHUP');
      await gw.waitFor(/Reload failed: .*generation 2 keeps serving/);
      writeFileSync(app, version('v3'));
      gw.signal('SIGHUP');
      await gw.waitFor(/Reload complete/, 2);
      stop = true;
      const res = await load;
      assert.deepEqual(res.failed, [], 'zero failed requests across the reloads');
      assert.ok(res.ok > 0);

      await gw.until('the old workers to be gone', () => gw.readyWorkers().length === 2);
      const after = gw.readyWorkers();
      assert.equal(after.filter((p) => before.has(p)).length, 0, 'all workers replaced');
      assert.equal((await request(`${gw.url}/`)).json().version, 'v3');
      for (const p of before) assert.equal(alive(p), false);
    } finally { await gw.stop(); }
  });

  test('HUP re-reads the config file: a new worker count applies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-reload-cfg-'));
    const cfg = join(dir, 'gw.json');
    writeFileSync(cfg, JSON.stringify({ workers: 1 }));
    const gw = await startGateway(['-c', cfg, '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    try {
      // A new metrics address in the same edit: the master cannot move what it bound at start,
      // so it says so and keeps the old one (none), while the worker count applies.
      writeFileSync(cfg, JSON.stringify({ workers: 3, metrics_bind: '127.0.0.1:0' }));
      gw.signal('SIGHUP');
      await gw.waitFor(/Reloading: booting 3 new workers/);
      await gw.waitFor(/Reload complete/);
      await gw.until('3 ready workers', () => gw.readyWorkers().length === 3);
      assert.equal(gw.count(/metrics_bind changed in the configuration: addresses change only on restart/), 1);
      assert.equal(gw.count(/Metrics at:/), 0);
      writeFileSync(cfg, JSON.stringify({ workers: 'lots' }));
      gw.signal('SIGHUP');
      await gw.waitFor(/the new configuration is invalid, keeping the current one: .*workers/);
    } finally { await gw.stop(); }
  });
});

describe('logs', () => {
  test('USR1 reopens the access log after logrotate moved it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-usr1-'));
    const file = join(dir, 'access.log');
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--access-logfile', file, fixture('echo.mjs')]);
    try {
      await request(`${gw.url}/before`);
      await gw.until('the first line to be written', () => existsSync(file) && readFileSync(file, 'utf8').includes('/before'));
      renameSync(file, `${file}.1`);
      gw.signal('SIGUSR1');
      await gw.until('the log to be reopened', () => existsSync(file));
      await request(`${gw.url}/after`);
    } finally { await gw.stop(); }
    assert.match(readFileSync(`${file}.1`, 'utf8'), /"path":"\/before"/);
    assert.match(readFileSync(file, 'utf8'), /"path":"\/after"/);
  });
});
