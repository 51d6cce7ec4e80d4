// One TLS policy for every TLS edge, declared once in config/tls-policy.json (Mozilla's
// intermediate profile minus DHE: TLS 1.2 and 1.3; for 1.2, ECDHE with AES-GCM or
// ChaCha20-Poly1305 only). nginx cannot read JSON, so its ssl_protocols and ssl_ciphers literals are
// checked here against the file; the gateway's defaults are a generated copy (checked in
// server/test/shared-limits.test.ts). Then what each edge actually negotiates, asked by
// `openssl s_client` for one suite at a time: the gateway with --certfile and nothing else
// (gateway-tls) and the native nginx with the rendered config (proxy-tls) refuse CBC suites,
// static-RSA key exchange and TLS 1.1, and accept the AEAD suites and TLS 1.3.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nginxConfigTree, onPath, startTopology, type Topology, unavailable } from '@gw/harness';
import { loadTlsPolicy, parseTlsPolicy } from '@gw/limits/tls-policy';

const policy = loadTlsPolicy();

describe('config/tls-policy.json is the policy of nginx and of the gateway', () => {
  it("nginx's rendered ssl_protocols and ssl_ciphers are the file's", () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-policy-'));
    try {
      nginxConfigTree(dir, {});
      const conf = readFileSync(join(dir, 'nginx.conf'), 'utf8').replace(/#[^\n]*/g, '');
      const values = (name: string) =>
        [...conf.matchAll(new RegExp(`^\\s*${name}\\s+([^;]+);`, 'gm'))].map((m) => m[1]);
      assert.deepEqual(values('ssl_protocols'), [policy.protocols.join(' ')]);
      assert.deepEqual(values('ssl_ciphers'), [policy.tls12Ciphers.join(':')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the policy file refuses a CBC suite, a suite without forward secrecy, and TLS 1.1', () => {
    const good = { protocols: ['TLSv1.2', 'TLSv1.3'], tls12Ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'] };
    assert.doesNotThrow(() => parseTlsPolicy(good, 'x'));
    assert.throws(() => parseTlsPolicy({ ...good, tls12Ciphers: ['ECDHE-RSA-AES128-SHA256'] }, 'x'), /AEAD/);
    assert.throws(() => parseTlsPolicy({ ...good, tls12Ciphers: ['AES128-GCM-SHA256'] }, 'x'), /ECDHE/);
    assert.throws(() => parseTlsPolicy({ ...good, protocols: ['TLSv1.1', 'TLSv1.2'] }, 'x'), /protocols/);
  });
});

/** What `openssl s_client` negotiates with these options: the suite, or undefined for a refused handshake. */
function negotiate(port: number, args: string[]): string | undefined {
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], {
    input: '',
    encoding: 'utf8',
    timeout: 10_000,
  });
  const suite = /Cipher is (\S+)/.exec(r.stdout)?.[1];
  return suite === undefined || suite === '(NONE)' ? undefined : suite;
}

// The development certificate is ECDSA (P-256), so the suites asked for are the ECDSA ones.
const REFUSED: Array<[string, string[]]> = [
  ['CBC with SHA-1 (ECDHE-ECDSA-AES128-SHA)', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA']],
  ['CBC with SHA-256 (ECDHE-ECDSA-AES128-SHA256, LUCKY13)', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA256']],
  ['CBC with SHA-384 (ECDHE-ECDSA-AES256-SHA384)', ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-SHA384']],
  ['static RSA key exchange, no forward secrecy (AES128-GCM-SHA256)', ['-tls1_2', '-cipher', 'AES128-GCM-SHA256']],
  ['TLS 1.1', ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0']],
];
const ACCEPTED: Array<[string, string[], string]> = [
  [
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
    'ECDHE-ECDSA-AES128-GCM-SHA256',
  ],
  [
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
    'ECDHE-ECDSA-AES256-GCM-SHA384',
  ],
  [
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    ['-tls1_2', '-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
    'ECDHE-ECDSA-CHACHA20-POLY1305',
  ],
  [
    'TLS 1.3 (TLS_AES_128_GCM_SHA256)',
    ['-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256'],
    'TLS_AES_128_GCM_SHA256',
  ],
];

for (const name of ['gateway-tls', 'proxy-tls'] as const) {
  const skip = onPath('openssl') ? (unavailable(name) ?? false) : 'no openssl';
  describe(`what ${name} negotiates`, { skip }, () => {
    let t: Topology;
    let port: number;
    before(async () => {
      t = await startTopology(name, { workers: 1 });
      port = Number(new URL(t.baseUrl).port);
    });
    after(async () => {
      await t?.stop();
    });
    for (const [what, args] of REFUSED) {
      it(`refuses ${what}`, () => assert.equal(negotiate(port, args), undefined));
    }
    for (const [what, args, suite] of ACCEPTED) {
      it(`accepts ${what}`, () => assert.equal(negotiate(port, args), suite));
    }
  });
}
