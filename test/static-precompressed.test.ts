// Precompressed static files on every native topology: the app's build leaves
// FILE.gz and FILE.br beside app/static's text files (app/scripts/precompress.mjs),
// and whoever serves /static/ sends them as they are. The gateway (the app's
// static handler) sends br or gzip, whichever the client prefers; nginx (proxy
// and full) sends the .gz by gzip_static and has no brotli, so a client asking
// for br and gzip gets gzip there. The body is compared with the file on disk
// byte for byte (compressed per request, at another level, it would differ), and
// decoded, with the file itself. An identity request gets the file.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { ROOT, startTopology, type Topology, type TopologyName, unavailable } from '@gw/harness';

const STATIC = join(ROOT, 'app/static');
const disk = (name: string) => readFileSync(join(STATIC, name));

function get(
  t: Topology,
  path: string,
  acceptEncoding?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding };
    http
      .get(new URL(path, t.baseUrl), { headers: { host: 'localhost', ...headers }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const decode = (encoding: string | undefined, body: Buffer) =>
  encoding === 'gzip' ? gunzipSync(body) : encoding === 'br' ? brotliDecompressSync(body) : body;

/** Per topology: who serves /static/ (X-Served-By) and what it sends for `br, gzip`. */
const TOPOLOGIES: Array<{ name: TopologyName; servedBy: string | undefined; brAndGzip: 'br' | 'gzip' }> = [
  { name: 'gateway', servedBy: undefined, brAndGzip: 'br' },
  { name: 'proxy', servedBy: 'nginx-static', brAndGzip: 'gzip' },
  { name: 'full', servedBy: 'nginx-static', brAndGzip: 'gzip' },
];

for (const topo of TOPOLOGIES) {
  const why = unavailable(topo.name);
  describe(`precompressed /static/ on ${topo.name}`, { skip: why ? `${topo.name}: ${why}` : false }, () => {
    let t: Topology;
    before(async () => {
      t = await startTopology(topo.name, { workers: 1 });
    });
    after(async () => {
      await t?.stop();
    });

    for (const name of ['1k.txt', '1m.txt']) {
      it(`${name}: gzip gets FILE.gz, br+gzip gets ${topo.brAndGzip}, identity gets the file`, async () => {
        const plain = disk(name);
        const cases: Array<[string | undefined, string | undefined]> = [
          ['gzip', 'gzip'],
          ['br, gzip', topo.brAndGzip],
          ['gzip, deflate, br, zstd', topo.brAndGzip],
          ['identity', undefined],
          [undefined, undefined],
        ];
        if (topo.name === 'gateway') cases.push(['br', 'br']);
        for (const [accept, encoding] of cases) {
          const what = `${topo.name} ${name}, Accept-Encoding: ${accept}`;
          const r = await get(t, `/static/${name}`, accept);
          assert.equal(r.status, 200, what);
          assert.equal(r.headers['x-served-by'], topo.servedBy, what);
          assert.equal(r.headers['content-encoding'], encoding, what);
          assert.equal(r.headers.vary, 'Accept-Encoding', what);
          assert.match(String(r.headers['content-type']), /^text\/plain/, what);
          const sent = encoding === 'gzip' ? disk(`${name}.gz`) : encoding === 'br' ? disk(`${name}.br`) : plain;
          assert.equal(r.headers['content-length'], String(sent.length), what);
          assert.ok(r.body.equals(sent), `${what}: not the bytes of the file on disk`);
          assert.ok(decode(encoding, r.body).equals(plain), `${what}: does not decode to the file`);
        }
      });
    }

    it('a file that does not compress (random bytes) has no variant and is sent as it is', async () => {
      const r = await get(t, '/static/1m.bin', 'gzip, br');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], undefined);
      assert.ok(r.body.equals(disk('1m.bin')));
    });
  });
}
