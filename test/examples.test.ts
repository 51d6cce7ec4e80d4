// The apps in examples/ (Express, Hono, Koa, Fastify, a plain listener), each under the real
// gateway CLI with one worker and 127.0.0.1 as a trusted proxy. Each gets the same checks: JSON,
// an echoed JSON body, a response streamed in parts, an error that leaves the worker serving, the
// client as the framework reports it (direct, behind the trusted proxy, and a spoofing untrusted
// peer) beside the TCP peer from its Node-level API (Hono: getConnInfo), and a HUP reload onto a
// new worker. Koa is exported as `new Koa()` itself. Needs `npm run build` (server/dist/cli.js).
import { strict as assert } from 'node:assert';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Gateway, type Reply, request, startGateway } from '../server/test/helpers.js';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const LIMIT = { timeout: 30_000 };

interface Example {
  name: string;
  /** How the framework (or, for the listener, the gateway) answers a throw: the body of the 500. */
  boomBody: (reply: Reply) => void;
}

const jsonBody = (expected: unknown) => (reply: Reply) => assert.deepEqual(reply.json(), expected);
const textBody = (expected: string) => (reply: Reply) => assert.equal(reply.body, expected);

const examples: Example[] = [
  // Its own error handler: Express's default page is HTML with the stack trace.
  { name: 'express', boomBody: jsonBody({ error: 'internal server error' }) },
  { name: 'hono', boomBody: textBody('Internal Server Error') },
  { name: 'koa', boomBody: textBody('Internal Server Error') },
  // Fastify's default error handler sends the error's message to the client.
  { name: 'fastify', boomBody: jsonBody({ statusCode: 500, error: 'Internal Server Error', message: 'boom' }) },
  // The throw reaches the gateway, which answers for the app.
  {
    name: 'listener',
    boomBody: jsonBody({ statusCode: 500, error: 'Internal Server Error', message: 'internal server error' }),
  },
];

interface Streamed {
  status: number;
  headers: http.IncomingHttpHeaders;
  chunks: string[];
}

/** GET `url` and keep each piece of the body as it arrived. */
function getChunks(url: string): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks: string[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, chunks }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`request to ${url} timed out`)));
  });
}

interface WhoAmI {
  ip: string;
  protocol: string;
  /** The TCP peer, as the framework's own Node-level API reports it (Hono: getConnInfo). */
  peer: string;
  pid: number;
}

const forwarded = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

for (const example of examples) {
  describe(`examples/${example.name}`, () => {
    let gw: Gateway;
    const pidOf = async (): Promise<number> => {
      const res = await request(`${gw.url}/`);
      assert.equal(res.status, 200);
      return res.json<{ pid: number }>().pid;
    };

    before(async () => {
      gw = await startGateway([
        '-w',
        '1',
        // Port 0: the gateway binds a free port and logs it ("Listening at:"); no probe to race.
        '-b',
        '127.0.0.1:0',
        '--forwarded-allow-ips',
        '127.0.0.1',
        `${EXAMPLES}${example.name}/app.mjs`,
      ]);
    }, LIMIT);
    after(async () => {
      await gw?.stop();
    }, LIMIT);

    it('GET / answers JSON naming the framework and the worker', LIMIT, async () => {
      const res = await request(`${gw.url}/`);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = res.json<{ framework: string; pid: number }>();
      assert.equal(body.framework, example.name);
      assert.deepEqual(gw.readyWorkers(), [body.pid]);
    });

    it('POST /echo answers the JSON body it was sent', LIMIT, async () => {
      const sent = { name: 'widget', tags: ['a', 'b'], price: 9.5, nested: { ok: true } };
      const res = await request(`${gw.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sent),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), sent);
    });

    it('GET /stream arrives chunked, in several pieces, with all its parts', LIMIT, async () => {
      const res = await getChunks(`${gw.url}/stream`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.equal(res.chunks.join(''), 'part 1\npart 2\npart 3\n');
      assert.ok(
        res.chunks.length >= 2,
        `the parts came in ${res.chunks.length} piece(s): ${JSON.stringify(res.chunks)}`,
      );
    });

    it('GET /boom is a 500, and the same worker goes on serving', LIMIT, async () => {
      const pid = await pidOf();
      const boom = await request(`${gw.url}/boom`);
      assert.equal(boom.status, 500);
      example.boomBody(boom);
      assert.equal(await pidOf(), pid);
      assert.equal(gw.count(/^Booting worker/), 1, 'no worker was replaced');
    });

    it('GET /whoami from a direct client: the socket peer, http', LIMIT, async () => {
      const me = (await request(`${gw.url}/whoami`)).json<WhoAmI>();
      assert.deepEqual(
        { ip: me.ip, protocol: me.protocol, peer: me.peer },
        { ip: '127.0.0.1', protocol: 'http', peer: '127.0.0.1' },
      );
    });

    it('GET /whoami behind the trusted proxy: the forwarded client and scheme', LIMIT, async () => {
      const me = (await request(`${gw.url}/whoami`, { headers: forwarded })).json<WhoAmI>();
      assert.deepEqual(
        { ip: me.ip, protocol: me.protocol, peer: me.peer },
        { ip: '203.0.113.7', protocol: 'https', peer: '127.0.0.1' },
      );
    });

    it('GET /whoami from an untrusted peer: its forwarded headers are not believed', LIMIT, async () => {
      // 127.0.0.2 is loopback too, but not in --forwarded-allow-ips.
      const res = await request(`${gw.url}/whoami`, { headers: forwarded, localAddress: '127.0.0.2' });
      const me = res.json<WhoAmI>();
      assert.deepEqual(
        { ip: me.ip, protocol: me.protocol, peer: me.peer },
        { ip: '127.0.0.2', protocol: 'http', peer: '127.0.0.2' },
      );
    });

    it('SIGHUP reloads: after "Reload complete" a new worker serves', LIMIT, async () => {
      const old = await pidOf();
      gw.signal('SIGHUP');
      await gw.waitFor(/^Reload complete/);
      // The old worker has been told to stop; once it is gone, nothing else can answer but the new one.
      await gw.until(`the old worker (pid ${old}) to exit`, () => !alive(old));
      const now = await pidOf();
      assert.notEqual(now, old);
      assert.deepEqual(gw.readyWorkers(), [now]);
    });
  });
}
