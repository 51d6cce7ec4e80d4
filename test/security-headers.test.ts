// Without nginx, the responses must not lose nginx's security headers: the `gateway` topology answers
// with the same set as `proxy` and `full`, over plain HTTP and over TLS. The expected set is read from
// nginx/includes/security-headers.conf itself (names and values), plus Strict-Transport-Security on
// TLS only. In the nginx topologies nginx adds them (and hides the app's copies); in `gateway` the
// sample app sets them (app/src/security-headers.ts: a CSP is the app's policy, not the gateway's).
// Each header must appear exactly once, on a page, a 404 and a static file.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isTls, ROOT, startTopology, type Topology, type TopologyName, unavailable } from '@gw/harness';

const HSTS = 'strict-transport-security';

/** add_header NAME "VALUE" lines of nginx's include, the $hsts one aside. */
function nginxSecurityHeaders(): Record<string, string> {
  const conf = readFileSync(join(ROOT, 'nginx/includes/security-headers.conf'), 'utf8');
  const out: Record<string, string> = {};
  for (const m of conf.matchAll(/^add_header\s+(\S+)\s+"([^"]*)"\s+always;/gm)) out[m[1]!.toLowerCase()] = m[2]!;
  return out;
}
const EXPECTED = nginxSecurityHeaders();
const NAMES = [...Object.keys(EXPECTED), HSTS];

/** The security headers of one response, each name with every value it came with (raw lines). */
function get(base: string, path: string): Promise<{ status: number; headers: Record<string, string[]> }> {
  const url = new URL(path, base);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { agent: false, rejectUnauthorized: false }, (res) => {
      const headers: Record<string, string[]> = {};
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i]!.toLowerCase();
        if (NAMES.includes(name)) headers[name] = [...(headers[name] ?? []), res.rawHeaders[i + 1]!];
      }
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} timed out`)));
  });
}

it("nginx's include has the headers this test expects (the parse above can fail)", () => {
  for (const name of ['x-content-type-options', 'x-frame-options', 'content-security-policy', 'referrer-policy'])
    assert.ok(EXPECTED[name], `${name} in nginx/includes/security-headers.conf`);
});

const TOPOS: TopologyName[] = ['gateway', 'proxy', 'full', 'gateway-tls', 'proxy-tls', 'full-tls'];
const seen = new Map<TopologyName, Record<string, Record<string, string[]>>>();

for (const name of TOPOS) {
  describe(`security headers: ${name}`, { skip: unavailable(name) ?? false }, () => {
    let t: Topology;
    before(async () => {
      t = await startTopology(name, { workers: 1 });
    });
    after(async () => {
      await t?.stop();
    });
    const want = (): Record<string, string[]> => ({
      ...Object.fromEntries(Object.entries(EXPECTED).map(([k, v]) => [k, [v]])),
      ...(isTls(name) ? { [HSTS]: ['max-age=31536000'] } : {}),
    });
    for (const [what, path, status] of [
      ['a page', '/', 200],
      ['a 404', '/no-such-page', 404],
      ['a static file', '/static/1k.txt', 200],
    ] as const) {
      it(`${what}: nginx's set, each once${isTls(name) ? ', HSTS included' : ', no HSTS over plain HTTP'}`, async () => {
        const r = await get(t.baseUrl, path);
        assert.equal(r.status, status);
        assert.deepEqual(r.headers, want());
        const row = seen.get(name) ?? {};
        row[path] = r.headers;
        seen.set(name, row);
      });
    }
  });
}

it('the three topologies answer with the same set (plain and TLS alike)', (t) => {
  for (const [plain, tls] of [
    ['gateway', 'gateway-tls'],
    ['proxy', 'proxy-tls'],
    ['full', 'full-tls'],
  ] as const) {
    if (!seen.has(plain) || !seen.has(tls)) return t.skip(`not every topology ran (${plain}, ${tls})`);
  }
  for (const other of ['proxy', 'full'] as const) {
    assert.deepEqual(seen.get('gateway'), seen.get(other), `gateway vs ${other}`);
    assert.deepEqual(seen.get('gateway-tls'), seen.get(`${other}-tls`), `gateway-tls vs ${other}-tls`);
  }
});
