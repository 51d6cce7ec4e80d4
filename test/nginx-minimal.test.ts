// nginx/minimal.conf, the yardstick the shipped config is priced against (issue 21), run for real
// by the distribution's nginx (harness/src/minimal.ts) in front of a local upstream that records
// what it receives, over TCP and over a unix socket; and the `minimal-uds` topology end to end (the
// real gateway on a unix socket). What makes it "minimal but sensible" is checked: `nginx -t`
// passes, requests reach the backend as HTTP/1.1 without `Connection: close`, and the upstream
// connections are reused (keep-alive), so the hop measured is nginx's, not TCP set-up's.
//
// Skipped (with the reason) when there is no nginx binary: NGINX_BIN, default /usr/sbin/nginx.
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  checkMinimalConf,
  MINIMAL_NGINX_CONF,
  type MinimalNginx,
  NGINX_BIN,
  renderMinimalConf,
  request,
  startMinimalNginx,
  startTopology,
  unavailable,
} from '@gw/harness';

const skip = existsSync(NGINX_BIN) ? false : `no nginx at ${NGINX_BIN} (apt-get install -y nginx, or set NGINX_BIN)`;

interface Seen {
  httpVersion: string;
  connection: string | undefined;
  /** The upstream connection it came on (one object per socket). */
  socket: object;
}

/** An upstream that records what it receives; `listen` is a TCP port (0) or a unix socket's path. */
async function recordingUpstream(at: 0 | string): Promise<{ server: http.Server; seen: Seen[]; address: string }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ httpVersion: req.httpVersion, connection: req.headers.connection, socket: req.socket });
    res.end('ok\n');
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => (at === 0 ? server.listen(0, '127.0.0.1', r) : server.listen(at, r)));
  if (typeof at === 'string') chmodSync(at, 0o666); // nginx's workers run as nobody under root
  const address = at === 0 ? `127.0.0.1:${(server.address() as AddressInfo).port}` : `unix:${at}`;
  return { server, seen, address };
}

describe('nginx/minimal.conf', { skip }, () => {
  it('renders with its three rewrites and passes nginx -t; a rewrite that no longer applies throws', () => {
    const dir = mkdtempSync('/tmp/nginx-minimal-test-');
    try {
      const text = renderMinimalConf(readFileSync(MINIMAL_NGINX_CONF, 'utf8'), {
        port: 18080,
        upstream: 'unix:/tmp/x.sock',
        prefix: dir,
      });
      assert.match(text, /listen 127\.0\.0\.1:18080;/);
      assert.match(text, /server unix:\/tmp\/x\.sock;/);
      assert.doesNotMatch(text, /\/tmp\/nginx-minimal\//);
      writeFileSync(join(dir, 'nginx.conf'), text);
      const check = checkMinimalConf(join(dir, 'nginx.conf'), dir);
      assert.ok(check.ok, check.stderr);
      assert.throws(
        () => renderMinimalConf('events {}', { port: 1, upstream: 'x:1', prefix: dir }),
        /no longer contains/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const transport of ['tcp', 'unix'] as const) {
    describe(`in front of an upstream over ${transport}`, () => {
      let up: Awaited<ReturnType<typeof recordingUpstream>>;
      let nginx: MinimalNginx | undefined;
      let dir = '';
      before(async () => {
        dir = mkdtempSync('/tmp/nginx-minimal-up-');
        chmodSync(dir, 0o755);
        up = await recordingUpstream(transport === 'tcp' ? 0 : join(dir, 'up.sock'));
        nginx = await startMinimalNginx({ upstream: up.address });
      });
      after(async () => {
        await nginx?.stop();
        up?.server.closeAllConnections();
        await new Promise<void>((r) => up?.server.close(() => r()));
        rmSync(dir, { recursive: true, force: true });
      });

      it('passes requests on as HTTP/1.1 without Connection: close, over a reused connection', async () => {
        const before = up.seen.length;
        for (let i = 0; i < 20; i++) assert.equal((await request(`${nginx!.baseUrl}/x`)).status, 200);
        const got = up.seen.slice(before);
        assert.equal(got.length, 20);
        assert.ok(
          got.every((s) => s.httpVersion === '1.1'),
          'HTTP/1.1 upstream',
        );
        assert.ok(
          got.every((s) => (s.connection ?? '').toLowerCase() !== 'close'),
          'no Connection: close',
        );
        // Sequential requests through one nginx worker: one kept-alive upstream connection does.
        assert.ok(new Set(got.map((s) => s.socket)).size <= 2, 'upstream connections reused');
      });
    });
  }
});

describe('the minimal-uds topology: nginx/minimal.conf → the gateway on a unix socket', { skip }, () => {
  it('serves the app through the socket, with the same gateway workers as full', async (t) => {
    const why = unavailable('minimal-uds');
    if (why) return t.skip(why);
    const topo = await startTopology('minimal-uds', { workers: 2 });
    try {
      const r = await request(`${topo.baseUrl}/whoami`);
      assert.equal(r.status, 200);
      assert.equal(topo.gateway?.pids().length, 3, 'a master and 2 workers');
      assert.ok(topo.pids().length >= 5, 'nginx (master, worker) and the gateway counted for CPU');
    } finally {
      await topo.stop();
    }
  });
});
