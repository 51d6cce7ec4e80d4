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
import { fixture, Gateway, type LogLine, loadLoop, request, sleep, startGateway } from './helpers.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Checks every recycle in the log so far: between the master's "replacing it" and its "stopping
 * worker" for the same pid, a worker booted after the first said it was ready, and no other recycle
 * began. All but "Worker ready" are master lines; that one is written before the worker tells the
 * master, so the order in the shared stderr is the order of events. Returns the recycles checked.
 */
function checkRecycles(gw: Gateway): number {
  const lines = gw.lines;
  let checked = 0;
  lines.forEach((line, i) => {
    const m = /^Worker \(pid:(\d+)\) (?:reached max requests|passed the memory ceiling): replacing it$/.exec(
      line.msg ?? '',
    );
    if (!m) return;
    const stopAt = lines.findIndex((l, j) => j > i && l.msg === `Replacement ready: stopping worker (pid:${m[1]})`);
    if (stopAt === -1) return; // still waiting for its replacement
    const window = lines.slice(i + 1, stopAt);
    const booted = new Set(window.map((l) => Number(/^Booting worker with pid: (\d+)$/.exec(l.msg ?? '')?.[1])));
    assert.ok(
      window.some((l) => l.role === 'worker' && booted.has(l.pid!) && /^Worker ready/.test(l.msg ?? '')),
      `the replacement of ${m[1]} was ready before it was stopped:\n${window.map((l) => l.msg).join('\n')}`,
    );
    assert.ok(!window.some((l) => /: replacing it$/.test(l.msg ?? '')), `no other recycle began while ${m[1]} waited`);
    checked++;
  });
  return checked;
}

describe('stopping', () => {
  test('TERM: new connections are refused at once, in-flight requests finish, exit 0', async () => {
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    const inflight = request(`${gw.url}/slow?ms=4000`);
    await sleep(300);
    gw.signal('SIGTERM');
    await gw.waitFor(/Worker draining/, 2);
    // Refused while the drain is still on, not queued in a backlog that nobody accepts any more
    // (polled: a worker logs "draining" just before it closes its listener).
    const net = await import('node:net');
    const refused = () =>
      new Promise<boolean>((resolve) => {
        const sock = net.connect(gw.port, '127.0.0.1');
        sock.once('connect', () => {
          sock.destroy();
          resolve(false);
        });
        sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
      });
    let wasRefused = false;
    for (let i = 0; i < 20 && !wasRefused; i++) {
      wasRefused = await refused();
      if (!wasRefused) await sleep(50);
    }
    assert.ok(wasRefused, 'new connections refused during the drain');
    assert.equal(gw.exitCode, undefined, 'still draining');
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.json().slept, 4000);
    assert.equal(await gw.exited, 0);
  });

  test('TERM: a request still running at --graceful-timeout is cut, and the master exits 0', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--graceful-timeout', '1', fixture('echo.mjs')]);
    const inflight = request(`${gw.url}/slow?ms=30000`).then(
      () => 'completed',
      () => 'cut',
    );
    await sleep(300);
    gw.signal('SIGTERM');
    assert.equal(await gw.exited, 0);
    assert.equal(await inflight, 'cut');
    assert.equal(gw.count(/Worker draining \(graceful timeout 1s\)/), 1);
  });

  test('TERM closes idle keep-alive connections instead of waiting for them', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--keep-alive', '60', fixture('echo.mjs')]);
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) =>
      http
        .get(`${gw.url}/`, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject),
    );
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
    sock.on('data', (c: string) => {
      out += c;
    });
    const closed = new Promise((r) => sock.once('close', r));
    gw.signal('SIGTERM');
    await gw.waitFor(/Worker draining/);
    sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    assert.match(out, /^HTTP\/1\.1 200 OK/);
    assert.match(out, /connection: close/i);
    assert.equal(await gw.exited, 0);
  });

  for (const sig of ['SIGINT', 'SIGQUIT'] as const) {
    test(`${sig.slice(3)} is a quick stop: in-flight requests are cut`, async () => {
      const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
      const inflight = request(`${gw.url}/slow?ms=5000`).then(
        () => 'completed',
        () => 'cut',
      );
      await sleep(300);
      gw.signal(sig);
      assert.equal(await gw.exited, 0);
      assert.equal(await inflight, 'cut');
      assert.equal(gw.count(/^Shutting down$/), 1);
    });
  }

  test('a second TERM forces the stop', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    const inflight = request(`${gw.url}/slow?ms=20000`).then(
      () => 'completed',
      () => 'cut',
    );
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
      const second = await import('node:child_process').then((cp) =>
        cp.spawnSync(
          process.execPath,
          [join(import.meta.dirname, '../dist/cli.js'), '-b', '127.0.0.1:0', '-p', pidfile, fixture('echo.mjs')],
          { encoding: 'utf8', timeout: 20_000 },
        ),
      );
      assert.equal(second.status, 1);
      assert.match(second.stderr, /GW_ERR_PIDFILE: already running on pid \d+/);
    } finally {
      await gw.stop();
    }
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
    } finally {
      await gw.stop();
    }
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
    } finally {
      await gw.stop();
    }
  });

  test('an uncaught error in a worker gets it replaced, counted as one crash', async () => {
    const gw = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--metrics-bind',
      '127.0.0.1:0',
      fixture('echo.mjs'),
    ]);
    try {
      const first = (await request(`${gw.url}/uncaught`)).json().pid as number;
      await gw.waitFor(/had an uncaught error: replacing it/);
      await gw.waitFor(/Booting worker/, 2);
      await gw.until('the old worker to exit', () => !alive(first));
      await gw.until('its replacement to be ready', () => gw.readyWorkers().length === 1);
      const next = (await request(`${gw.url}/`)).json().pid;
      assert.notEqual(next, first);
      // It drains and leaves at once, often before its replacement is ready: still one crash.
      assert.equal(await gw.metric('gateway_worker_restarts_total{reason="crash"}'), 1);
      assert.equal(gw.count(/^Worker \(pid:\d+\) exited with code/), 0, 'not taken for a second, unexpected exit');
    } finally {
      await gw.stop();
    }
  });

  test('a hung worker (event loop blocked past --timeout) is aborted and replaced; the other keeps serving', async () => {
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', '--timeout', '2', fixture('echo.mjs')]);
    try {
      await gw.until('2 ready workers', () => gw.readyWorkers().length === 2);
      const pids = new Set(gw.readyWorkers());
      const hung = request(`${gw.url}/block?ms=60000`).then(
        () => 'answered',
        () => 'cut',
      );
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
    } finally {
      await gw.stop();
    }
  });

  test('a hung worker that survives SIGABRT is killed with SIGKILL, and counted as a timeout', async () => {
    const gw = await startGateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--timeout',
      '1',
      '--metrics-bind',
      '127.0.0.1:0',
      fixture('echo.mjs'),
    ]);
    try {
      const pid = (await request(`${gw.url}/`)).json().pid as number;
      const hung = request(`${gw.url}/block-ignoring-abort?ms=60000`).then(
        () => 'answered',
        () => 'cut',
      );
      await gw.waitFor(new RegExp(`WORKER TIMEOUT \\(pid:${pid}\\)`));
      await gw.waitFor(new RegExp(`Worker \\(pid:${pid}\\) was sent SIGKILL after timeout`));
      assert.equal(await hung, 'cut');
      await gw.until(
        'a replacement to be ready',
        () => gw.readyWorkers().length === 1 && !gw.readyWorkers().includes(pid),
      );
      assert.equal(await gw.metric('gateway_worker_restarts_total{reason="timeout"}'), 1);
      assert.equal((await request(`${gw.url}/`)).status, 200);
    } finally {
      await gw.stop();
    }
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
      const delays = gw.lines
        .map((l) => /next spawn in (\d+) ms/.exec(l.msg ?? '')?.[1])
        .filter(Boolean)
        .map(Number);
      assert.deepEqual(delays.slice(0, 2), [200, 400], 'exponential');
      assert.equal(gw.exitCode, undefined, 'the master stays up');
      // Good code again: the next respawn succeeds and serving resumes.
      copyFileSync(fixture('echo.mjs'), app);
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = await request(`${gw.url}/`).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await sleep(100);
      }
      assert.equal(status, 200);
    } finally {
      await gw.stop();
    }
  });
});

describe('recycling', () => {
  test('--max-requests recycles workers one at a time, the replacement ready first: no failed request, no request uncounted', async () => {
    const gw = await startGateway([
      '-w',
      '2',
      '-b',
      '127.0.0.1:0',
      '--max-requests',
      '30',
      '--max-requests-jitter',
      '5',
      '--metrics-bind',
      '127.0.0.1:0',
      fixture('echo.mjs'),
    ]);
    try {
      const pids = new Set<number>();
      const res = await loadLoop(
        async () => {
          const r = await request(`${gw.url}/`);
          pids.add(r.json().pid as number);
          return r;
        },
        { concurrency: 4, until: () => gw.count(/reached max requests/) >= 4, maxRequests: 20_000 },
      );
      assert.deepEqual(res.failed, []);
      const recycles = gw.count(/reached max requests: replacing it/);
      assert.ok(recycles >= 3, `several recycles happened (${recycles}):\n${gw.stderrText}`);
      assert.ok(pids.size >= 4, `requests were served by successive workers (${pids.size})`);
      assert.ok(checkRecycles(gw) >= 3);
      // The counters add up the workers gone too: every request answered is counted, once.
      assert.equal(await gw.metric('gateway_http_requests_total{status="200"}'), res.ok);
      // A worker turned away (one recycle at a time) asks again on its next heartbeat, so a recycle
      // can still land after the load stopped: compare the counter and the log once they agree.
      let counted: number | undefined = -1;
      let logged = -2;
      for (let i = 0; i < 50 && counted !== logged; i++) {
        if (i > 0) await sleep(100);
        counted = await gw.metric('gateway_worker_restarts_total{reason="recycle"}');
        logged = gw.count(/reached max requests: replacing it/);
      }
      assert.equal(counted, logged, 'the recycle counter and the log disagree');
      assert.ok(logged >= recycles);
    } finally {
      await gw.stop();
    }
  });
});

describe('memory ceiling', () => {
  test('--max-worker-memory recycles a worker past the ceiling, replacement first, while requests keep succeeding', async () => {
    // 1 MiB: every Node process is past it, so both workers ask at once and are replaced in turn.
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', '--max-worker-memory', '1', fixture('echo.mjs')]);
    try {
      const res = await loadLoop(() => request(`${gw.url}/`), {
        concurrency: 2,
        until: () => gw.count(/passed the memory ceiling: replacing it/) >= 3,
        maxRequests: 50_000,
      });
      assert.deepEqual(res.failed, []);
      assert.ok(checkRecycles(gw) >= 2);
    } finally {
      await gw.stop();
    }
  });
});

describe('reload (HUP)', () => {
  test('new workers load the new code and are ready before the old ones stop; a broken deploy keeps the old code serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-reload-'));
    const app = join(dir, 'app.mjs');
    const version = (v: string) =>
      readFileSync(fixture('echo.mjs'), 'utf8').replace("process.env.FIXTURE_VERSION ?? 'v1'", `'${v}'`);
    writeFileSync(app, version('v1'));
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', app]);
    try {
      await gw.until('2 ready workers', () => gw.readyWorkers().length === 2);
      const before = new Set(gw.readyWorkers());
      let stop = false;
      const load = loadLoop(
        async () => {
          const post = Math.random() < 0.5;
          return post ? request(`${gw.url}/upload`, { method: 'POST', body: 'x'.repeat(2000) }) : request(`${gw.url}/`);
        },
        { concurrency: 4, until: () => stop, maxRequests: 20_000 },
      );

      writeFileSync(app, version('v2'));
      gw.signal('SIGHUP');
      await gw.waitFor(/Reload complete/);
      // Both new workers said they were ready before any old one began to drain.
      const oldDrain = (l: LogLine) => before.has(l.pid!) && /^Worker draining/.test(l.msg ?? '');
      await gw.until('an old worker to drain', () => gw.lines.some(oldDrain));
      const window = gw.lines.slice(
        gw.lines.findIndex((l) => /^Reloading:/.test(l.msg ?? '')),
        gw.lines.findIndex(oldDrain),
      );
      assert.equal(
        window.filter((l) => l.role === 'worker' && !before.has(l.pid!) && /^Worker ready/.test(l.msg ?? '')).length,
        2,
        'the new generation was ready first',
      );
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
    } finally {
      await gw.stop();
    }
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
    } finally {
      await gw.stop();
    }
  });

  test('a failed reload puts the old configuration back: no extra workers of the old code from the broken files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-reload-back-'));
    const cfg = join(dir, 'gw.json');
    const app = join(dir, 'app.mjs');
    copyFileSync(fixture('echo.mjs'), app);
    writeFileSync(cfg, JSON.stringify({ workers: 1 }));
    const gw = await startGateway(['-c', cfg, '-b', '127.0.0.1:0', app]);
    try {
      const pid = (await request(`${gw.url}/`)).json().pid as number;
      // A deploy that raises the worker count and ships code that does not load.
      writeFileSync(cfg, JSON.stringify({ workers: 2 }));
      writeFileSync(app, 'export default 42;\n');
      gw.signal('SIGHUP');
      await gw.waitFor(/Reload failed: .*generation 1 keeps serving with its configuration \(1 worker\)/);
      await sleep(1500); // what a kept count of 2 would do meanwhile: fork a second old-generation worker
      assert.equal(gw.count(/Booting worker/), 3, 'the first worker and the two of the failed generation, no more');
      assert.equal(gw.count(/failed to boot/), 0);
      assert.deepEqual(gw.readyWorkers(), [pid]);
      assert.equal((await request(`${gw.url}/`)).json().pid, pid);
    } finally {
      await gw.stop();
    }
  });
});

describe('logs', () => {
  test('USR1 reopens the error log too; --access-logfile - writes the access log to stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-usr1-err-'));
    const file = join(dir, 'error.log');
    // The error log goes to the file, so readiness is read there, not from stderr.
    const gw = new Gateway([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '--error-logfile',
      file,
      '--access-logfile',
      '-',
      fixture('echo.mjs'),
    ]);
    try {
      await gw.until(
        'the gateway to be ready',
        () => existsSync(file) && / workers? ready"/.test(readFileSync(file, 'utf8')),
      );
      assert.equal(gw.stderrText, '', 'nothing on stderr');
      // The log port is known from the file, not from stderr.
      const port = Number(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(file, 'utf8'))![1]);
      await request(`http://127.0.0.1:${port}/via-stdout`);
      await gw.until('the access line on stdout', () => gw.stdout.some((l) => l.includes('"path":"/via-stdout"')));
      assert.equal(JSON.parse(gw.stdout.find((l) => l.includes('/via-stdout'))!).status, 404);
      renameSync(file, `${file}.1`);
      gw.signal('SIGUSR1');
      await gw.until('the error log to be reopened', () => existsSync(file));
      gw.signal('SIGTTIN'); // something for the master to log after the reopen
      await gw.until('the new file to get the next lines', () => readFileSync(file, 'utf8').includes('Workers: 2'));
      assert.doesNotMatch(readFileSync(`${file}.1`, 'utf8'), /Workers: 2/);
      assert.match(readFileSync(`${file}.1`, 'utf8'), /Listening at:/);
    } finally {
      await gw.stop();
    }
  });

  test('USR1 reopens the access log after logrotate moved it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-usr1-'));
    const file = join(dir, 'access.log');
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--access-logfile', file, fixture('echo.mjs')]);
    try {
      await request(`${gw.url}/before`);
      await gw.until(
        'the first line to be written',
        () => existsSync(file) && readFileSync(file, 'utf8').includes('/before'),
      );
      renameSync(file, `${file}.1`);
      gw.signal('SIGUSR1');
      await gw.until('the log to be reopened', () => existsSync(file));
      await request(`${gw.url}/after`);
    } finally {
      await gw.stop();
    }
    assert.match(readFileSync(`${file}.1`, 'utf8'), /"path":"\/before"/);
    assert.match(readFileSync(file, 'utf8'), /"path":"\/after"/);
  });
});
