// The example app on Hono. Run it under the gateway:
//   npx gateway examples/hono/app.mjs
//   (in this repository, after `npm run build`: node server/dist/cli.js examples/hono/app.mjs)
// A Hono app is a fetch handler (an object with fetch(request)), so `export default app` is the
// whole contract: the gateway calls app.fetch itself, @hono/node-server is not needed.
import { Hono } from 'hono';
import { stream } from 'hono/streaming';

const PARTS = 3;
const PART_DELAY_MS = 100;

const app = new Hono();

app.get('/', (c) => c.json({ framework: 'hono', pid: process.pid }));

app.post('/echo', async (c) => c.json(await c.req.json()));

app.get('/stream', (c) => {
  c.header('content-type', 'text/plain; charset=utf-8');
  return stream(c, async (s) => {
    for (let i = 1; i <= PARTS; i++) {
      await s.write(`part ${i}\n`);
      if (i < PARTS) await s.sleep(PART_DELAY_MS);
    }
  });
});

// Hono's default error handler logs the error and answers 500 "Internal Server Error".
app.get('/boom', () => {
  throw new Error('boom');
});

// Hono has no request.ip. Its Node way, getConnInfo from '@hono/node-server/conninfo', reads
// c.env.incoming (the Node request), which the gateway does not pass: it throws here. The gateway
// does put its verdict in the Request instead: for a fetch app it always sets X-Forwarded-For
// (the client, or the socket peer) and X-Forwarded-Proto, and builds request.url with that scheme.
app.get('/whoami', (c) =>
  c.json({
    ip: c.req.header('x-forwarded-for'),
    protocol: new URL(c.req.url).protocol.slice(0, -1),
    pid: process.pid,
  }),
);

export default app;
