// The example app on Fastify 5. Run it under the gateway:
//   npx nodicorn examples/fastify/app.mjs
//   (in this repository, after `npm run build`: node server/dist/cli.js examples/fastify/app.mjs)
// The gateway accepts a Fastify instance as it is (it calls ready() and routes requests into it),
// so `export default app` is the whole contract; never app.listen().
import { Readable } from 'node:stream';
import Fastify from 'fastify';

const PARTS = 3;
const PART_DELAY_MS = 100;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// trustProxy: the gateway sets X-Forwarded-For/-Proto/-Host to its own verdict on every request
// (see examples/express/app.mjs). Fastify's default is false, and then request.ip and
// request.protocol report the TCP peer, not the client. A factory export,
// `export default (ctx) => Fastify({ trustProxy: ctx.trustProxy })`, gets the same from the gateway.
const app = Fastify({ trustProxy: true });

app.get('/', async () => ({ framework: 'fastify', pid: process.pid }));

app.post('/echo', async (request) => request.body);

async function* parts() {
  for (let i = 1; i <= PARTS; i++) {
    yield `part ${i}\n`;
    if (i < PARTS) await sleep(PART_DELAY_MS);
  }
}

app.get('/stream', (_request, reply) => reply.type('text/plain; charset=utf-8').send(Readable.from(parts())));

// Fastify's default error handler answers 500 with a JSON body (which carries the error's message).
app.get('/boom', async () => {
  throw new Error('boom');
});

app.get('/whoami', async (request) => ({
  ip: request.ip,
  protocol: request.protocol,
  peer: request.socket.remoteAddress,
  pid: process.pid,
}));

export default app;
