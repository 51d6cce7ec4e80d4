/**
 * --reuse-port: a SO_REUSEPORT listening socket per worker where Node has `reusePort` (the image's
 * Node 26: `npm run test:units` in .ci/run), the shared socket and a clear word where it has not
 * (the machine's Node 20). Which sockets listen is read from the kernel (/proc/net/tcp), not from
 * the gateway's own log: one LISTEN entry per worker, or one for all.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { reusePortSupported } from '../src/reuse-port.js';
import { CLI, fixture, request, startGateway } from './helpers.js';

const SUPPORTED = reusePortSupported();
const NEEDS = SUPPORTED ? false : `Node ${process.versions.node} has no reusePort (runs on the image's Node 26)`;
const LACKS = SUPPORTED ? `Node ${process.versions.node} has reusePort (runs on the machine's Node 20)` : false;

/** LISTEN sockets on 127.0.0.1:port, as the kernel lists them. */
function listening(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === local && f[3] === '0A').length;
}

const pidsServing = async (url: string, n: number): Promise<Set<number>> => {
  const pids = new Set<number>();
  for (let i = 0; i < n; i++) pids.add((JSON.parse((await request(`${url}/`)).body) as { pid: number }).pid);
  return pids;
};

describe('--reuse-port where Node has reusePort', { skip: NEEDS }, () => {
  test('on: one listening socket per worker, each serving; a HUP reload replaces them', async () => {
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', '--reuse-port', 'on', fixture('echo.mjs')]);
    try {
      assert.ok(gw.count(/^Reuse port: one listening socket per worker \(SO_REUSEPORT\)/) === 1, gw.stderrText);
      assert.equal(listening(gw.port), 2, 'two LISTEN sockets, one per worker');
      const first = new Set(gw.liveWorkers());
      // A new connection per request, hashed over the two sockets: both workers answer.
      const served = await pidsServing(gw.url, 200);
      assert.deepEqual([...served].sort(), [...first].sort());
      gw.signal('SIGHUP');
      await gw.waitFor(/^Reload complete/);
      await gw.waitFor(/^Worker exiting/, 2);
      await gw.until('the old sockets closed', () => listening(gw.port) === 2);
      const after = await pidsServing(gw.url, 200);
      assert.equal(after.size, 2);
      for (const pid of after) assert.ok(!first.has(pid), `pid ${pid} is of the new generation`);
      assert.equal(await gw.stop(), 0);
      assert.equal(listening(gw.port), 0, 'nothing listens once stopped');
    } finally {
      await gw.stop();
    }
  });

  test('a second gateway on the port of a running one is refused (GW_ERR_BIND), not let in beside it', async () => {
    const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', '--reuse-port', 'on', fixture('echo.mjs')]);
    try {
      const args = [CLI, '-w', '1', '-b', `127.0.0.1:${gw.port}`, '--reuse-port', 'on', fixture('echo.mjs')];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /GW_ERR_BIND: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
      assert.equal(listening(gw.port), 1, 'the running gateway keeps its one socket, alone');
    } finally {
      await gw.stop();
    }
  });

  test('auto is on here; off (the default) keeps the one shared socket', async () => {
    for (const [mode, sockets] of [
      ['auto', 2],
      ['off', 1],
      [undefined, 1],
    ] as const) {
      const flag = mode === undefined ? [] : ['--reuse-port', mode];
      const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', ...flag, fixture('echo.mjs')]);
      try {
        assert.equal(listening(gw.port), sockets, `--reuse-port ${mode ?? '(default)'}`);
        assert.equal((await request(`${gw.url}/`)).status, 200);
      } finally {
        await gw.stop();
      }
    }
  });
});

describe('--reuse-port where Node has no reusePort', { skip: LACKS }, () => {
  test('on: a clear error (GW_ERR_REUSE_PORT, exit 1), no worker started', () => {
    const r = spawnSync(process.execPath, [CLI, '-b', '127.0.0.1:0', '--reuse-port', 'on', fixture('echo.mjs')], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, WEB_CONCURRENCY: '', PORT: '' },
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /GW_ERR_REUSE_PORT: --reuse-port on: Node \S+ has no reusePort/);
    assert.doesNotMatch(r.stderr, /Booting worker/);
  });

  test('auto: the shared socket, said once at start', async () => {
    const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', '--reuse-port', 'auto', fixture('echo.mjs')]);
    try {
      assert.equal(gw.count(/^Reuse port: Node \S+ has no reusePort .*; the workers share one socket per address$/), 1);
      assert.equal(listening(gw.port), 1);
      assert.equal((await request(`${gw.url}/`)).status, 200);
    } finally {
      await gw.stop();
    }
  });
});

test('a --reuse-port that is not auto, on or off is refused, naming the setting', () => {
  const r = spawnSync(process.execPath, [CLI, '--reuse-port', 'sometimes', '--check-config', fixture('echo.mjs')], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /reuse_port.*sometimes.*expected one of auto, on, off/s);
});
