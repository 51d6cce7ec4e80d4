/**
 * What a new user of a framework meets under the gateway: the Node bindings a fetch app gets, one
 * forwarded-header rule for every app shape, a Koa app exported as it is, advice on frameworks
 * that do not believe X-Forwarded-*, a warning for an app that listens on its own, --reload,
 * --capture-output, and a load failure that is one well-formed JSON line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { describe, test } from 'node:test';
import { type HostedApp, loadApp } from '../src/app-loader.js';
import { appFrame, describeListen } from '../src/listen-guard.js';
import { isJsonObjectLine } from '../src/output-capture.js';
import { ignoredChange, watchRoot } from '../src/reload-watcher.js';
import { CLI, fixture, request, startGateway } from './helpers.js';

const ctx = { trustProxy: true, workerId: 0, generation: 0 } as const;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, WEB_CONCURRENCY: '', PORT: '' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('app shapes', () => {
  test('a fetch app gets { incoming, outgoing } as env; one that answers on outgoing is not answered twice', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('fetch-env.mjs')]);
    try {
      assert.deepEqual((await request(`${gw.url}/`)).json(), { peer: '127.0.0.1', same: true });
      const own = await request(`${gw.url}/outgoing`);
      assert.equal(own.status, 200);
      assert.equal(own.body, 'written on outgoing');
      assert.equal((await request(`${gw.url}/`)).status, 200, 'the worker goes on serving');
      assert.equal(gw.count(/Error handling request/), 0, gw.stderrText);
    } finally {
      await gw.stop();
    }
  });

  test('a Koa app (callback() and use()) is hosted as it is exported', async () => {
    const hosted: HostedApp = await loadApp(fixture('koa-like.mjs'), ctx);
    assert.equal(hosted.kind, 'koa');
    const checked = run(['--check-config', fixture('koa-like.mjs')]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(
      checked.stdout,
      /is a koa app\nnote: this Koa app has app\.proxy off: ctx\.ip reports the socket peer/,
    );
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('koa-like.mjs')]);
    try {
      assert.deepEqual((await request(`${gw.url}/x`)).json(), { kind: 'koa-like', url: '/x' });
      // The first worker tells the note once in the log too.
      await gw.waitFor(/^Note: this Koa app has app\.proxy off/);
    } finally {
      await gw.stop();
    }
  });

  test('a shape error names the shapes, Koa among them', () => {
    const shape = run(['--check-config', fixture('not-an-app.mjs')]);
    assert.equal(shape.code, 4);
    assert.match(shape.stderr, /a Fastify instance, a Koa app, or a factory returning one/);
  });

  test('--check-config notes a Fastify instance without trustProxy, not a factory that passes ctx.trustProxy', () => {
    const bare = run(['--check-config', fixture('fastify-app.mjs')]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.match(bare.stdout, /note: this Fastify instance has trustProxy off: request\.ip .*\{ trustProxy: true \}/);
    const factory = run(['--check-config', `${fixture('factory-app.mjs')}:build`]);
    assert.equal(factory.code, 0, factory.stderr);
    assert.doesNotMatch(factory.stdout, /note:/);
  });
});

describe('forwarded headers: one rule for every shape', () => {
  test('a listener gets X-Forwarded-For/Proto/Host from a direct client too, the socket and Host', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('echo.mjs')]);
    try {
      const r = (await request(`${gw.url}/headers`)).json();
      assert.deepEqual(r, {
        xff: '127.0.0.1',
        proto: 'http',
        host: `127.0.0.1:${gw.port}`,
        forwarded: null,
        requestId: null,
      });
    } finally {
      await gw.stop();
    }
  });
});

describe('an app that listens on its own', () => {
  test('is warned about, with the address and its line; the gateway serves it anyway', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('listens.mjs')]);
    try {
      const warning = await gw.waitFor(/^The app opened its own server on 127\.0\.0\.1:0 /);
      assert.equal(warning.level, 'warn');
      assert.equal(warning.address, '127.0.0.1:0');
      assert.match(String(warning.frame), /listens\.mjs:\d+:\d+/);
      assert.match(warning.msg ?? '', /bypasses the gateway's limits, timeouts and metrics/);
      assert.equal((await request(`${gw.url}/`)).body, 'through the gateway\n');
      assert.equal(gw.count(/opened its own server/), 1, "the gateway's own listen() is not warned about");
    } finally {
      await gw.stop();
    }
  });

  test('the address in the words of listen() arguments; the first frame outside Node and node_modules', () => {
    assert.equal(describeListen([3000]), 'port 3000');
    assert.equal(describeListen([3000, '0.0.0.0', () => {}]), '0.0.0.0:3000');
    assert.equal(describeListen([{ port: 8080, host: '::1' }]), '::1:8080');
    assert.equal(describeListen(['/run/app.sock']), '/run/app.sock');
    assert.equal(describeListen([]), 'a random port');
    const stack = [
      'Error: listen',
      '    at Server.listen (node:net:1234:5)',
      '    at Function.listen (/srv/app/node_modules/express/lib/application.js:635:24)',
      '    at file:///srv/app/server.mjs:12:5',
    ].join('\n');
    assert.equal(appFrame(stack), 'file:///srv/app/server.mjs:12:5');
  });
});

describe('--reload', () => {
  test('an edit is served after "Reload complete"; a broken save keeps the old code serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-watch-'));
    const app = join(dir, 'app.mjs');
    const version = (v: string) =>
      readFileSync(fixture('echo.mjs'), 'utf8').replace("process.env.FIXTURE_VERSION ?? 'v1'", `'${v}'`);
    writeFileSync(app, version('v1'));
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--reload', app]);
    try {
      await gw.waitFor(/^Reload: watching /);
      assert.equal((await request(`${gw.url}/`)).json().version, 'v1');
      const [oldPid] = gw.liveWorkers();
      writeFileSync(app, version('v2'));
      await gw.waitFor(/^Reload complete/);
      // Complete means the old worker has closed its listener (it logs its drain first): a new
      // connection can no longer land on the old code. A fresh-clone CI run once got v1 here.
      const at = (re: RegExp, pid?: number) =>
        gw.lines.findIndex((l) => re.test(l.msg ?? '') && (!pid || l.pid === pid));
      assert.ok(at(/^Worker draining/, oldPid) >= 0 && at(/^Worker draining/, oldPid) < at(/^Reload complete/));
      assert.equal((await request(`${gw.url}/`)).json().version, 'v2');

      writeFileSync(app, 'export default 42;\n');
      await gw.waitFor(/^Reload failed: the new workers could not load the app; generation 2 keeps serving/);
      assert.equal((await request(`${gw.url}/`)).json().version, 'v2');
      assert.ok(gw.count(/^Reload: app\.mjs changed/) >= 2);
    } finally {
      await gw.stop();
    }
  });

  test('watches the app module directory, not node_modules or dotfiles', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-root-'));
    mkdirSync(join(dir, 'src'));
    copyFileSync(fixture('echo.mjs'), join(dir, 'src', 'app.mjs'));
    assert.equal(watchRoot('src/app.mjs:default', dir), join(dir, 'src'));
    assert.equal(watchRoot('some-package', dir), dir);
    assert.equal(ignoredChange(`node_modules${sep}x${sep}index.js`), true);
    assert.equal(ignoredChange(`.git${sep}index`), true);
    assert.equal(ignoredChange('.app.mjs.swp'), true);
    assert.equal(ignoredChange('app.mjs~'), true);
    assert.equal(ignoredChange(`routes${sep}users.mjs`), false);
  });
});

describe('--capture-output', () => {
  test("every line of the workers' console output reaches the log as JSON with the worker's pid", async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--capture-output', fixture('noisy.mjs')]);
    let pid = 0;
    try {
      pid = (await request(`${gw.url}/noise`)).json<{ pid: number }>().pid;
      await gw.waitFor(/^hello from the app \(request\)$/);
      await gw.waitFor(/^Error: something failed \(request\)$/);
      await gw.until('the JSON line on stdout', () => gw.stdout.length >= 2);
    } finally {
      await gw.stop();
    }
    const errLines = gw.stderrText.split('\n').filter((l) => l !== '');
    for (const line of errLines) {
      const rec = JSON.parse(line) as { pid?: unknown };
      assert.equal(typeof rec.pid, 'number', line);
    }
    const out = gw.lines.find((l) => l.msg === 'hello from the app (request)');
    assert.deepEqual([out?.level, out?.pid, out?.stream, out?.role], ['info', pid, 'stdout', 'worker']);
    const stack = gw.lines.filter((l) => l.pid === pid && l.stream === 'stderr');
    assert.ok(stack.length >= 3, 'the stack trace, one record a line');
    assert.ok(stack.every((l) => l.level === 'error'));
    assert.ok(stack.some((l) => /^ {4}at /.test(l.msg ?? '')));
    // A line that is already JSON goes on unchanged, to the stream it was written to.
    assert.equal(gw.stdout.filter((l) => l === '{"already":"json","pid":1}').length, 2, gw.stdout.join('\n'));
    for (const line of gw.stdout) assert.ok(isJsonObjectLine(line), line);
  });

  test('a line is passed through only when it is one JSON object', () => {
    assert.equal(isJsonObjectLine('{"level":"info","msg":"x"}'), true);
    assert.equal(isJsonObjectLine('{ a: 1 }'), false);
    assert.equal(isJsonObjectLine('{"a":1} trailing }'), false);
    assert.equal(isJsonObjectLine('["a"]'), false);
  });
});

describe('the load-failure line', () => {
  test('is one JSON object with one key a field: the cause under reason', () => {
    const r = run(['-w', '1', '-b', '127.0.0.1:0', fixture('not-an-app.mjs')]);
    assert.equal(r.code, 4, r.stderr);
    const line = r.stderr.split('\n').find((l) => l.includes('Worker failed to load app'));
    assert.ok(line, r.stderr);
    assert.equal((line.match(/"msg":/g) ?? []).length, 1, line);
    const rec = JSON.parse(line) as { code?: string; reason?: string; msg?: string };
    assert.equal(rec.code, 'GW_ERR_APP_SHAPE');
    assert.match(rec.reason ?? '', /is number: expected a request listener/);
    assert.match(rec.msg ?? '', /^Worker failed to load app /);
  });
});
