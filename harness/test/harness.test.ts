// The harness's own contract: the development certificate (scripts/dev-certificate.sh, what the
// images run too), a launched process and its stop, and the Serving every launcher returns.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  DEV_CERT_SCRIPT,
  devCertificate,
  devCertificateFiles,
  endpoint,
  freePort,
  launch,
  missingBuild,
  onPath,
  request,
  runAsync,
  startTopology,
  vanished,
  waitListening,
} from '@gw/harness';

const dir = mkdtempSync(join(tmpdir(), 'harness-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

test('dev-certificate.sh: a self-signed EC P-256 certificate for localhost, its key private, kept when valid', {
  skip: onPath('openssl') ? false : 'no openssl',
}, () => {
  const { cert, key } = devCertificate(join(dir, 'a'));
  assert.equal(cert, join(dir, 'a/tls.crt'));
  assert.match(openssl(['x509', '-in', cert, '-noout', '-subject']), /^subject=CN ?= ?localhost$/m);
  assert.equal(
    openssl(['x509', '-in', cert, '-noout', '-issuer']).replace('issuer', 'subject'),
    openssl(['x509', '-in', cert, '-noout', '-subject']),
    'self-signed: issuer = subject',
  );
  const text = openssl(['x509', '-in', cert, '-noout', '-text']);
  assert.match(text, /DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
  assert.match(text, /ASN1 OID: prime256v1/);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.equal(statSync(cert).mode & 0o777, 0o644);
  // Again: both files are still there and valid, so nothing is made.
  const before = readFileSync(cert, 'utf8');
  const again = spawnSync('sh', [DEV_CERT_SCRIPT, join(dir, 'a')], { encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^kept /);
  assert.equal(readFileSync(cert, 'utf8'), before);
  // Files named by the caller, with another subject; a bad call says how to call it.
  const other = devCertificateFiles(join(dir, 'b/x.crt'), join(dir, 'b/x.key'), { subject: '/CN=localhost/O=x' });
  assert.match(openssl(['x509', '-in', other.cert, '-noout', '-subject']), /O ?= ?x/);
  const bad = spawnSync('sh', [DEV_CERT_SCRIPT], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^usage: /);
});

test('freePort: never hands out one port twice, though each is closed before it returns', async () => {
  const ports: number[] = [];
  for (let i = 0; i < 200; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length);
  for (const p of ports) assert.ok(p > 0 && p < 65536);
});

test('launch: the program runs from the repository root, listens, and stop() ends it', async () => {
  const port = await freePort();
  const code = `require('node:http').createServer((q, s) => s.end(process.cwd())).listen(${port}, '127.0.0.1')`;
  const p = launch([process.execPath, '-e', code]);
  await waitListening(port, p.proc, 10_000);
  assert.deepEqual(p.tree(), [p.pid]);
  assert.equal((await request(`http://127.0.0.1:${port}/`)).body, join(import.meta.dirname, '../..'));
  await p.stop();
  assert.ok(p.exited());
  assert.deepEqual(vanished([p.pid]), [p.pid]);
});

test('runAsync: the status and both streams without blocking; a command past its time is killed', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 20);
  const ran = await runAsync('sh', ['-c', 'sleep 0.3; echo out; echo err >&2; exit 3'], { env: { X: '1' } });
  clearInterval(timer);
  assert.deepEqual(ran, { status: 3, stdout: 'out\n', stderr: 'err\n' });
  assert.ok(ticks > 0, 'this process kept running while the command did');
  const killed = await runAsync('sleep', ['30'], { timeoutMs: 200 });
  assert.equal(killed.status, null);
  await assert.rejects(runAsync('/nonexistent/command', []), /ENOENT/);
});

test('endpoint: where to connect, through the host names a Serving maps', () => {
  assert.deepEqual(endpoint({ baseUrl: 'https://127.0.0.1:8443' }), {
    host: '127.0.0.1',
    port: 8443,
    hostHeader: '127.0.0.1',
  });
  assert.deepEqual(endpoint({ baseUrl: 'http://nginx-full:8080', hosts: { 'nginx-full': '172.20.0.3' } }), {
    host: '172.20.0.3',
    port: 8080,
    hostHeader: 'nginx-full',
  });
});

test('a topology is a Serving: its processes, their CPU, no crash, one stop', {
  skip: missingBuild() ? 'not built (npm run build)' : false,
  timeout: 60_000,
}, async () => {
  const t = await startTopology('gateway', { workers: 2, gatewayLogLevel: 'info' });
  try {
    assert.ok(t.gateway, 'the gateway topology exposes its master');
    assert.equal(t.baseUrl, `http://127.0.0.1:${t.port}`);
    assert.equal(t.gateway.readyWorkers().length, 2);
    assert.deepEqual([...t.pids()].sort(), [t.gateway.proc.pid!, ...t.gateway.liveWorkers()].sort());
    const cpu = t.cpuSeconds();
    for (let i = 0; i < 200; i++) assert.equal((await request(`${t.baseUrl}/`)).status, 200);
    assert.ok(t.cpuSeconds() > cpu, 'serving 200 requests used CPU');
    assert.deepEqual(t.crashes(), []);
  } finally {
    await Promise.all([t.stop(), t.stop()]);
  }
  assert.deepEqual(t.pids(), []);
});
