/**
 * The command line as an operator meets it: help, version, --print-config, --check-config, and
 * one clear line with a non-zero code for every bad input, with nothing left running or bound.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, fixture, request, startGateway } from './helpers.js';

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, WEB_CONCURRENCY: '', PORT: '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The master's JSON log line that says why it stopped. */
function haltLine(stderr: string): { code?: string } | undefined {
  const line = stderr.split('\n').find((l) => /"msg":"Shutting down: (App|Worker) failed/.test(l));
  return line === undefined ? undefined : (JSON.parse(line) as { code?: string });
}

test("--help lists Gunicorn's flags and --version prints the version", () => {
  const help = run(['--help']);
  assert.equal(help.code, 0);
  for (const flag of [
    '-w, --workers',
    '-b, --bind',
    '-t, --timeout',
    '--graceful-timeout',
    '--keep-alive',
    '--max-requests',
    '--max-requests-jitter',
    '-p, --pid',
    '--access-logfile',
    '--forwarded-allow-ips',
    '--limit-request-line',
    '--limit-request-fields',
    '--limit-request-field_size',
    '-c, --config',
    '--check-config',
    '--print-config',
    '--boot-timeout SECONDS',
    '--shutdown-delay SECONDS',
    '--health-bind ADDRESS',
  ]) {
    assert.ok(help.stdout.includes(flag), `help mentions ${flag}`);
  }
  const version = run(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^nodicorn \d+\.\d+\.\d+\n$/);
});

test('--print-config shows the effective value from each source: CLI > env > file > default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-cfg-'));
  const file = join(dir, 'gateway.json');
  writeFileSync(
    file,
    JSON.stringify({ workers: 7, timeout: 11, max_requests: 500, keepalive: 5, app: 'from-file.js' }),
  );
  const r = run(['-c', file, '--print-config', '-w', '3', '--bind', '127.0.0.1:9001', '-b', 'unix:/tmp/x.sock'], {
    GATEWAY_TIMEOUT: '12',
    GATEWAY_MAX_REQUESTS: '600',
  });
  assert.equal(r.code, 0, r.stderr);
  const value = (name: string) => new RegExp(`^${name} += (.*)$`, 'm').exec(r.stdout)?.[1];
  assert.equal(value('workers'), '3'); // CLI beats file
  assert.equal(value('timeout'), '12'); // env beats file
  assert.equal(value('max_requests'), '600'); // env beats file
  assert.equal(value('keepalive'), '5'); // file beats default
  assert.equal(value('graceful_timeout'), '30'); // default (config/limits.json)
  assert.equal(value('bind'), '["127.0.0.1:9001","unix:/tmp/x.sock"]');
  assert.equal(value('app'), '"from-file.js"');
});

test('--print-config and --check-config act on their validated value: =false is off, a bad value is refused', () => {
  // Not "the flag was given": --print-config=false must not print (and exit before) anything.
  const checked = run(['--print-config=false', '--check-config', fixture('echo.mjs')]);
  assert.equal(checked.code, 0, checked.stderr);
  assert.doesNotMatch(checked.stdout, /^workers += /m);
  assert.match(checked.stdout, /^configuration OK; .*echo\.mjs is a listener app\n$/);
  // --check-config=no does not check: the app (which does not exist) is not imported.
  const printed = run(['--check-config=no', '--print-config=yes', fixture('nope.mjs')]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /^workers += /m);
  assert.doesNotMatch(printed.stdout, /configuration OK/);
  const bad = run(['--print-config=maybe', 'x.js']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /GW_ERR_CONFIG_INVALID: invalid value for print_config \(--print-config\): "maybe"/);
});

test('WEB_CONCURRENCY sets the default worker count; GATEWAY_WORKERS and -w beat it; workers_source says which', () => {
  const value = (r: { stdout: string }, name = 'workers') => new RegExp(`^${name} += (.*)$`, 'm').exec(r.stdout)?.[1];
  const web = run(['--print-config'], { WEB_CONCURRENCY: '5' });
  assert.equal(value(web), '5');
  assert.equal(value(web, 'workers_source'), '"WEB_CONCURRENCY"');
  const env = run(['--print-config'], { WEB_CONCURRENCY: '5', GATEWAY_WORKERS: '2' });
  assert.equal(value(env), '2');
  assert.equal(value(env, 'workers_source'), '"GATEWAY_WORKERS"');
  const flag = run(['--print-config', '-w', '4'], { WEB_CONCURRENCY: '5' });
  assert.equal(value(flag), '4');
  assert.equal(value(flag, 'workers_source'), '"--workers"');
  // Neither: the CPUs this process may use (the cgroup quota's parsing: cpu-quota.test.ts).
  assert.match(value(run(['--print-config'])) ?? '', /^[1-9]\d*$/);
  assert.match(value(run(['--print-config']), 'workers_source') ?? '', /^"(the cgroup CPU quota|availableParallelism)/);
  // Every line is `name = JSON`, as test/limits-agree.test.ts reads them.
  for (const line of web.stdout.trim().split('\n')) {
    const eq = line.indexOf(' = ');
    assert.ok(eq > 0, line);
    assert.doesNotThrow(() => JSON.parse(line.slice(eq + 3)), line);
  }
  assert.equal(value(run(['--print-config'], { PORT: '7777' })) !== undefined, true);
  assert.match(run(['--print-config'], { PORT: '7777' }).stdout, /^bind += \["0\.0\.0\.0:7777"\]$/m);
});

test('bad values give one line naming the setting, its source and the value, and exit 2', () => {
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [
      ['-w', 'many', 'x.js'],
      {},
      /^gateway: GW_ERR_CONFIG_INVALID: invalid value for workers \(--workers\): "many": expected an integer\n$/,
    ],
    [['x.js'], { GATEWAY_TIMEOUT: '-3' }, /invalid value for timeout \(GATEWAY_TIMEOUT\): "-3"/],
    [['-b', 'localhost:http', 'x.js'], {}, /invalid value for bind \(--bind\).*invalid port/],
    [
      ['--forwarded-allow-ips', '10.0.0.0/40', 'x.js'],
      {},
      /invalid value for forwarded_allow_ips.*invalid prefix length/,
    ],
    [
      ['--header-timeout', '90', '--request-timeout', '30', 'x.js'],
      {},
      /header_timeout \(90\) must not exceed request_timeout \(30\)/,
    ],
    [['--no-such-flag', 'x.js'], {}, /^gateway: GW_ERR_USAGE: unknown option --no-such-flag/],
    [['-w'], {}, /GW_ERR_USAGE: option -w needs a value/],
    [['a.js', 'b.js'], {}, /GW_ERR_USAGE: one app only/],
    [[], {}, /GW_ERR_USAGE: no app given/],
    [
      ['-c', '/nonexistent/gw.json', 'x.js'],
      {},
      /GW_ERR_CONFIG_FILE: config file \/nonexistent\/gw.json does not exist/,
    ],
    [
      ['x.js'],
      { WEB_CONCURRENCY: 'lots' },
      /GW_ERR_CONFIG_INVALID: invalid default for workers from the environment: WEB_CONCURRENCY="lots": expected an integer/,
    ],
    [
      ['x.js'],
      { PORT: 'http' },
      /GW_ERR_CONFIG_INVALID: invalid default for bind from the environment: PORT="http": .*invalid port/,
    ],
  ];
  for (const [args, env, expected] of cases) {
    const r = run(args, env);
    assert.equal(r.code, 2, `${args.join(' ')} → exit 2 (stderr: ${r.stderr})`);
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
});

test('an unknown key in the config file is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-cfg-'));
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify({ worker: 2 }));
  const r = run(['-c', file, 'x.js']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /GW_ERR_CONFIG_UNKNOWN: unknown setting "worker"/);
});

test('--check-config names the app kind, or fails with the app load code', () => {
  const good = run(['--check-config', fixture('echo.mjs')]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /configuration OK; .*echo\.mjs is a listener app/);
  assert.match(run(['--check-config', fixture('fetch-app.mjs')]).stdout, /is a fetch app/);
  assert.match(run(['--check-config', fixture('fastify-app.mjs')]).stdout, /is a fastify app/);
  assert.match(run(['--check-config', fixture('factory-app.mjs')]).stdout, /is a fastify app/);

  const broken = run(['--check-config', fixture('broken-app.mjs')]);
  assert.equal(broken.code, 4);
  assert.match(broken.stderr, /this app is broken on purpose/);
  const shape = run(['--check-config', fixture('not-an-app.mjs')]);
  assert.equal(shape.code, 4);
  assert.match(shape.stderr, /GW_ERR_APP_SHAPE: .*is number: expected a request listener/);
  const missing = run(['--check-config', fixture('nope.mjs')]);
  assert.equal(missing.code, 4);
  assert.match(missing.stderr, /GW_ERR_APP_NOT_FOUND/);
  const exportName = run(['--check-config', `${fixture('factory-app.mjs')}:nope`]);
  assert.match(exportName.stderr, /GW_ERR_APP_EXPORT: .* has no export "nope" \(it has: build, default\)/);
});

test('an app that cannot load stops the master with code 4 (APP_LOAD_ERROR) and frees the port', async () => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => probe.once('listening', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));

  const r = run(['-w', '2', '-b', `127.0.0.1:${port}`, fixture('broken-app.mjs')]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /Worker failed to load app/);
  assert.match(r.stderr, /Shutting down: App failed to load/);
  assert.equal(haltLine(r.stderr)?.code, 'GW_ERR_APP_LOAD');
  assert.match(r.stderr, /^gateway: GW_ERR_APP_LOAD: App failed to load: .*broken-app\.mjs\n$/m);
  // Nothing half-started: the port can be bound again at once.
  const again = net.createServer().listen(port, '127.0.0.1');
  await new Promise((resolve, reject) => {
    again.once('listening', resolve);
    again.once('error', reject);
  });
  again.close();
});

test('a worker that reports it cannot boot (exit 3) at start stops the master with code 3 (WORKER_BOOT_ERROR)', () => {
  const r = run(['-w', '1', '-b', '127.0.0.1:0', fixture('cannot-boot.mjs')]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /Shutting down: Worker failed to boot/);
  // The code the exit status comes from is in the master's log line (GW_ERR_WORKER_BOOT: exit 3).
  assert.equal(haltLine(r.stderr)?.code, 'GW_ERR_WORKER_BOOT');
  assert.match(r.stderr, /^gateway: GW_ERR_WORKER_BOOT: Worker failed to boot \(pid:\d+ exited with code 3\)\n$/m);
  // A boot that times out is not this: it is retried (boot.test.ts).
});

test('a port already in use is a clear error (exit 1), and no worker is started', async () => {
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
  try {
    const r = run(['-w', '1', '-b', `127.0.0.1:${gw.port}`, fixture('echo.mjs')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /GW_ERR_BIND: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    assert.doesNotMatch(r.stderr, /Booting worker/);
    assert.equal((await request(`${gw.url}/`)).status, 200, 'the running gateway is untouched');
    // The metrics address is bound after the public one and the pid file: its failure undoes both.
    const pidfile = join(mkdtempSync(join(tmpdir(), 'gw-pid-')), 'gw.pid');
    const m = run([
      '-w',
      '1',
      '-b',
      '127.0.0.1:0',
      '-p',
      pidfile,
      '--metrics-bind',
      `127.0.0.1:${gw.port}`,
      fixture('echo.mjs'),
    ]);
    assert.equal(m.code, 1);
    assert.match(m.stderr, /GW_ERR_BIND: cannot serve metrics on 127\.0\.0\.1:\d+: EADDRINUSE/);
    assert.equal(existsSync(pidfile), false, 'no pid file left behind');
  } finally {
    await gw.stop();
  }
});
