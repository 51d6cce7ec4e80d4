/**
 * The gateway terminating TLS itself (the `gateway` topology exposed directly): HTTPS with
 * Gunicorn's flag names, the scheme the app sees, a renewed certificate picked up by HUP without
 * a failed request, a broken one refused without taking the service down.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { devCertificateFiles } from '@gw/harness';
import { CLI, fixture, sleep, startGateway } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-tls-'));

/** A development certificate for localhost (scripts/dev-certificate.sh), told apart by its O=name. */
function makeCert(name: string): { cert: string; key: string } {
  return devCertificateFiles(join(dir, `${name}.crt`), join(dir, `${name}.key`), {
    subject: `/CN=localhost/O=${name}`,
  });
}

function get(
  port: number,
  path: string,
): Promise<{ status: number; body: string; org: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      const sock = res.socket as TLSSocket;
      const org = String(sock.getPeerCertificate().subject?.O ?? '');
      const protocol = sock.getProtocol();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body, org, protocol }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
  });
}

test('--certfile/--keyfile: HTTPS on the bind, TLS ≥ 1.2, and the app sees the https scheme', async () => {
  const { cert, key } = makeCert('first');
  const gw = await startGateway([
    '-w',
    '1',
    '-b',
    '127.0.0.1:0',
    '--certfile',
    cert,
    '--keyfile',
    key,
    `${fixture('factory-app.mjs')}:build`,
  ]);
  try {
    assert.ok(gw.lines.some((l) => /^Listening at: https:\/\/127\.0\.0\.1:\d+ /.test(l.msg ?? '')));
    const r = await get(gw.port, '/');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).protocol, 'https');
    assert.equal(r.org, 'first');
    assert.match(r.protocol ?? '', /^TLSv1\.[23]$/);
  } finally {
    await gw.stop();
  }
});

test('HUP serves a renewed certificate with no failed request; a broken one is refused and the old one keeps serving', async () => {
  const first = makeCert('first');
  const second = makeCert('second');
  const cert = join(dir, 'live.crt');
  const key = join(dir, 'live.key');
  copyFileSync(first.cert, cert);
  copyFileSync(first.key, key);
  const gw = await startGateway([
    '-w',
    '2',
    '-b',
    '127.0.0.1:0',
    '--certfile',
    cert,
    '--keyfile',
    key,
    fixture('echo.mjs'),
  ]);
  try {
    let stop = false;
    const failures: string[] = [];
    const orgs = new Set<string>();
    const load = (async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        try {
          const r = await get(gw.port, '/');
          if (r.status !== 200) failures.push(`status ${r.status}`);
          orgs.add(r.org);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    copyFileSync(second.cert, cert);
    copyFileSync(second.key, key);
    gw.signal('SIGHUP');
    await gw.waitFor(/Reload complete/);
    await sleep(300);
    writeFileSync(cert, 'not a certificate\n');
    gw.signal('SIGHUP');
    await gw.waitFor(/Reload failed/);
    await sleep(300);
    stop = true;
    await load;
    assert.deepEqual(failures, []);
    assert.ok(orgs.has('first') && orgs.has('second'), `both certificates were served (${[...orgs]})`);
    assert.equal(
      (await get(gw.port, '/')).org,
      'second',
      'the renewed certificate keeps serving after the broken deploy',
    );
  } finally {
    await gw.stop();
  }
});

test('TLS settings errors are one clear line before anything starts', () => {
  const { cert, key } = makeCert('other');
  const run = (args: string[]) =>
    spawnSync(process.execPath, [CLI, '-b', '127.0.0.1:0', ...args, fixture('echo.mjs')], {
      encoding: 'utf8',
      timeout: 20_000,
    });
  const alone = run(['--certfile', cert]);
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /GW_ERR_CONFIG_INVALID: certfile and keyfile go together/);
  const missing = run(['--certfile', join(dir, 'nope.crt'), '--keyfile', key]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /GW_ERR_TLS: cannot read the certificate .*nope\.crt: ENOENT/);
  const mismatch = run(['--certfile', cert, '--keyfile', makeCert('third').key]);
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stderr, /GW_ERR_TLS: .*key values mismatch/);
  assert.doesNotMatch(mismatch.stderr, /Booting worker/);
  const version = run(['--certfile', cert, '--keyfile', key, '--tls-min-version', 'TLSv1.0']);
  assert.equal(version.status, 2);
  assert.match(version.stderr, /invalid value for tls_min_version .*expected TLSv1\.2 or TLSv1\.3/);
});
