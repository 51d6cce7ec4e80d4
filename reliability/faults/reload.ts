/**
 * Fault: three HUP reloads under constant GET and POST load, the second one a deploy of broken
 * app code. Claim: zero failed requests; after the broken deploy the old code keeps serving.
 * The app is the sample app behind a one-line wrapper that stamps its version (x-app-version),
 * so each answer tells which deploy served it.
 *
 *   flock /tmp/gw-measure.lock node --import tsx reliability/faults/reload.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '@gw/harness';
import { failureKinds, Load, report, round, sleep, summarize } from '../lib/measure.js';
import { APP } from '../lib/targets.js';

const RATE = Number(process.env.RATE ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'gw-reload-'));
const app = join(dir, 'app.mjs');
const deploy = (version: string) =>
  writeFileSync(
    app,
    `import create from ${JSON.stringify(APP)};
export default async function (ctx) {
  const fastify = await create(ctx);
  return (req, res) => { res.setHeader('x-app-version', ${JSON.stringify(version)}); fastify.routing(req, res); };
}
`,
  );
deploy('v1');
const gw = await startGateway(['-w', '2', '-b', '127.0.0.1:0', app], { NODE_ENV: 'production', LOG_LEVEL: 'warn' });
try {
  await gw.until('2 ready workers', () => gw.readyWorkers().length === 2);
  const body = 'x'.repeat(2048);
  const load = new Load({
    baseUrl: gw.url,
    rate: RATE,
    localAddress: '127.0.0.2',
    maxSeconds: 90,
    captureHeader: 'x-app-version',
    path: (i) => (i % 2 === 0 ? { path: '/whoami' } : { path: '/upload', method: 'POST', body }),
  });
  await sleep(2000);
  const marks: Record<string, number> = {};
  deploy('v2');
  gw.signal('SIGHUP');
  await gw.waitFor(/Reload complete/, 1, 30_000);
  marks.v2 = load.now();
  await sleep(2000);
  writeFileSync(app, 'export default 42;\n');
  gw.signal('SIGHUP');
  await gw.waitFor(/Reload failed/, 1, 30_000);
  marks.broken = load.now();
  await sleep(2000);
  marks.v3Start = load.now();
  deploy('v3');
  gw.signal('SIGHUP');
  await gw.waitFor(/Reload complete/, 2, 30_000);
  marks.v3 = load.now();
  await sleep(2000);
  const samples = await load.stop();
  const all = summarize(samples);
  const afterBroken = samples.filter((s) => s.end > marks.broken! && s.end < marks.v3Start!);
  const versionsAfterBroken = [...new Set(afterBroken.map((s) => s.header))];
  const kinds = failureKinds(all.failures);
  report([
    {
      case: 'HUP ×3 (one broken deploy) under GET+POST load',
      topology: 'gateway',
      pass: all.failed === 0 && versionsAfterBroken.length === 1 && versionsAfterBroken[0] === 'v2',
      result:
        `${all.failed} failed of ${all.requests} at ${RATE} req/s, half POST (${kinds}); ` +
        `after the broken deploy ${afterBroken.length} answers, all from ${versionsAfterBroken.join('+')}; ` +
        `p99 ${all.p99} ms; reloads took ${round(marks.v2! / 1000 - 2, 1)} s / ${round((marks.v3! - marks.v3Start!) / 1000, 1)} s`,
      figures: {
        rate: RATE,
        requests: all.requests,
        failed: all.failed,
        failures: all.failures,
        versionsAfterBroken,
        p99: all.p99,
      },
    },
  ]);
} finally {
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
}
