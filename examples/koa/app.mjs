// The example app on Koa 3 with @koa/router. Run it under the gateway:
//   npx nodicorn examples/koa/app.mjs
//   (in this repository, after `npm run build`: node server/dist/cli.js examples/koa/app.mjs)
// A Koa app is not itself a request listener (app.callback() is), but the gateway knows the shape
// and calls callback() itself: `export default app` is the whole contract; never app.listen().
import { Readable } from 'node:stream';
import { json } from 'node:stream/consumers';
import Router from '@koa/router';
import Koa from 'koa';

const PARTS = 3;
const PART_DELAY_MS = 100;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const app = new Koa();
// The gateway has already vetted X-Forwarded-For/-Proto (see examples/express/app.mjs), so
// Koa may believe them: ctx.ip and ctx.protocol then report the client, not the gateway's peer.
app.proxy = true;

const router = new Router();

router.get('/', (ctx) => {
  ctx.body = { framework: 'koa', pid: process.pid };
});

// Koa parses no bodies itself; @koa/bodyparser is the usual middleware, this is all it would do here.
router.post('/echo', async (ctx) => {
  try {
    ctx.body = await json(ctx.req);
  } catch {
    ctx.throw(400, 'the body is not JSON');
  }
});

async function* parts() {
  for (let i = 1; i <= PARTS; i++) {
    yield `part ${i}\n`;
    if (i < PARTS) await sleep(PART_DELAY_MS);
  }
}

router.get('/stream', (ctx) => {
  ctx.type = 'text/plain';
  ctx.body = Readable.from(parts());
});

// Koa's default error handling logs the error and answers 500 "Internal Server Error".
router.get('/boom', () => {
  throw new Error('boom');
});

router.get('/whoami', (ctx) => {
  ctx.body = { ip: ctx.ip, protocol: ctx.protocol, peer: ctx.req.socket.remoteAddress, pid: process.pid };
});

app.use(router.routes()).use(router.allowedMethods());

export default app;
