// The example app on Hono. Run it under the gateway:
//   npx nodicorn examples/hono/app.mjs
//   (in this repository, after `npm run build`: node server/dist/cli.js examples/hono/app.mjs)
// A Hono app is a fetch handler (an object with fetch(request)), so `export default app` is the
// whole contract: the gateway calls app.fetch itself, @hono/node-server's serve() is not needed.
// The gateway passes Hono's Node bindings, { incoming, outgoing }, as c.env, so the Node helpers
// of @hono/node-server (getConnInfo here) work as they do under serve().
import { getConnInfo } from '@hono/node-server/conninfo';
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

// The client: Hono has no request.ip, and getConnInfo reads the socket (c.env.incoming), which is
// the TCP peer (behind nginx: nginx). The gateway's verdict on the client is in the headers: it
// sets X-Forwarded-For (the trusted proxy's client, else the peer) and X-Forwarded-Proto on every
// request, and builds request.url with that scheme.
app.get('/whoami', (c) =>
  c.json({
    ip: c.req.header('x-forwarded-for'),
    protocol: new URL(c.req.url).protocol.slice(0, -1),
    peer: getConnInfo(c).remote.address,
    pid: process.pid,
  }),
);

export default app;
