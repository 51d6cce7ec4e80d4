// The example app as a plain Node request listener, no framework. Run it under the gateway:
//   npx nodicorn examples/listener/app.mjs
//   (in this repository, after `npm run build`: node server/dist/cli.js examples/listener/app.mjs)
// Any (req, res) function is a request listener: `export default` it; the gateway creates the
// server and owns the socket.
import { json } from 'node:stream/consumers';

const PARTS = 3;
const PART_DELAY_MS = 100;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

const routes = {
  'GET /': (_req, res) => sendJson(res, 200, { framework: 'listener', pid: process.pid }),

  'POST /echo': async (req, res) => {
    let body;
    try {
      body = await json(req);
    } catch {
      return sendJson(res, 400, { error: 'the body is not JSON' });
    }
    sendJson(res, 200, body);
  },

  'GET /stream': async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    for (let i = 1; i <= PARTS; i++) {
      if (res.destroyed) return; // the client went away
      res.write(`part ${i}\n`);
      if (i < PARTS) await sleep(PART_DELAY_MS);
    }
    res.end();
  },

  // A throw (or a rejected promise) reaches the gateway, which logs it and answers 500.
  'GET /boom': () => {
    throw new Error('boom');
  },

  // Under the gateway these headers can be believed: on every request it sets them to its own
  // verdict, the client a peer in --forwarded-allow-ips names, else the TCP peer and its scheme
  // (a client's own claims are dropped). Run without the gateway, anyone could send them.
  'GET /whoami': (req, res) =>
    sendJson(res, 200, {
      ip: req.headers['x-forwarded-for'],
      protocol: req.headers['x-forwarded-proto'],
      peer: req.socket.remoteAddress,
      pid: process.pid,
    }),
};

export default async function app(req, res) {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  const route = routes[`${req.method} ${pathname}`];
  if (route) await route(req, res);
  else sendJson(res, 404, { error: `no route ${req.method} ${pathname}` });
}
