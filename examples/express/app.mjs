// The example app on Express 5. Run it under the gateway:
//   npx nodicorn examples/express/app.mjs
//   (in this repository, after `npm run build`: node server/dist/cli.js examples/express/app.mjs)
// An Express app is a (req, res, next) request listener, so `export default app` is the whole
// contract. It never calls app.listen(): the gateway owns the socket, and a listen() here would
// open a second port in every worker.
import express from 'express';

const PARTS = 3;
const PART_DELAY_MS = 100;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const app = express();

// The gateway sets X-Forwarded-For/-Proto/-Host on every request to its own verdict: the client a
// peer in --forwarded-allow-ips names, else the TCP peer itself (a client's own claims are dropped).
// So Express may believe them, and req.ip / req.protocol report the client. Without this they
// report the TCP peer (behind nginx: nginx), and the gateway logs a note at start.
app.set('trust proxy', true);
app.use(express.json());

app.get('/', (_req, res) => {
  res.json({ framework: 'express', pid: process.pid });
});

app.post('/echo', (req, res) => {
  res.json(req.body ?? null);
});

app.get('/stream', async (_req, res) => {
  res.type('text/plain');
  for (let i = 1; i <= PARTS; i++) {
    if (res.destroyed) return; // the client went away
    res.write(`part ${i}\n`);
    if (i < PARTS) await sleep(PART_DELAY_MS);
  }
  res.end();
});

// Express 5 passes a rejected promise to the error handler, as it does a throw.
app.get('/boom', async () => {
  throw new Error('boom');
});

app.get('/whoami', (req, res) => {
  res.json({ ip: req.ip, protocol: req.protocol, peer: req.socket.remoteAddress, pid: process.pid });
});

// Without an error handler of its own, Express answers with an HTML page that shows the stack
// trace unless NODE_ENV=production.
app.use((err, _req, res, _next) => {
  console.error(err);
  res.status(500).json({ error: 'internal server error' });
});

export default app;
