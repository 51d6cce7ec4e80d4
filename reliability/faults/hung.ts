/**
 * Fault: a worker's event loop blocked longer than --timeout (GET /cpu?ms=5000 with --timeout 2).
 * Claim: the hung worker is aborted and replaced; the other workers keep serving. Figures: time
 * to detection and to the replacement's first answer (a probe on fresh connections), failed requests (those queued on the hung
 * worker's connections), and the other workers' p99 during the event against before it.
 *
 *   flock /tmp/gw-measure.lock node --import tsx reliability/faults/hung.ts
 */

import { request } from '@gw/harness';
import { failureKinds, Load, ok, percentile, report, round, sleep, summarize } from '../lib/measure.js';
import { startGatewayTarget } from '../lib/targets.js';

const RATE = Number(process.env.RATE ?? 200);
const TIMEOUT_S = 2;

const t = await startGatewayTarget({ workers: 2, extraArgs: ['--timeout', String(TIMEOUT_S)] });
const gw = t.gateway;
try {
  const load = new Load({ baseUrl: t.baseUrl, rate: RATE, path: '/', localAddress: '127.0.0.2', maxSeconds: 30 });
  // Fresh connections: keep-alive ones stay on the surviving worker and would never show the new one.
  const probe = new Load({
    baseUrl: t.baseUrl,
    rate: 50,
    path: '/whoami',
    localAddress: '127.0.0.3',
    keepAlive: false,
    maxSeconds: 30,
  });
  await sleep(3000);
  const booted = gw.count(/^Booting worker with pid/);
  const hungAt = load.now();
  const hung = request(`${t.baseUrl}/cpu?ms=5000`, { localAddress: '127.0.0.4' }).then(
    (r) => `answered ${r.status}`,
    (e: Error) => `cut (${e.message})`,
  );
  const line = await gw.waitFor(/WORKER TIMEOUT \(pid:\d+\)/, 1, 15_000);
  const detectedAt = load.now();
  const hungPid = Number(/pid:(\d+)/.exec(line.msg!)![1]);
  await gw.waitFor(/^Booting worker with pid/, booted + 1, 10_000);
  const fresh = Number(
    /pid: (\d+)/.exec(gw.lines.filter((l) => /^Booting worker with pid/.test(l.msg ?? '')).at(-1)!.msg!)![1],
  );
  await sleep(3000);
  const samples = await load.stop();
  const probes = await probe.stop();
  const hungOutcome = await hung;

  const recoveredAt = Math.min(...[...samples, ...probes].filter((s) => s.pid === fresh).map((s) => s.end));
  const others = (from: number, to: number) =>
    samples.filter((s) => ok(s) && s.pid !== hungPid && s.start >= from && s.start < to).map((s) => s.end - s.start);
  const p99Before = round(percentile(others(0, hungAt), 99));
  const p99During = round(percentile(others(hungAt, recoveredAt), 99));
  const all = summarize(samples);
  const during = summarize(samples, hungAt, recoveredAt);
  const kinds = failureKinds(all.failures);
  report([
    {
      case: 'event loop blocked past --timeout',
      topology: 'gateway',
      pass: Number.isFinite(recoveredAt) && during.ok > 0,
      result:
        `detected ${round((detectedAt - hungAt) / 1000, 2)} s after the block (--timeout ${TIMEOUT_S}), ` +
        `replacement answering ${round((recoveredAt - hungAt) / 1000, 2)} s after it; ` +
        `${all.failed} failed of ${all.requests} at ${RATE} req/s (${kinds}); ` +
        `the other worker's p99 ${p99During} ms during the event (${p99Before} ms before); the blocking request: ${hungOutcome}`,
      figures: {
        rate: RATE,
        timeoutS: TIMEOUT_S,
        detectS: round((detectedAt - hungAt) / 1000, 2),
        recoverS: round((recoveredAt - hungAt) / 1000, 2),
        failed: all.failed,
        requests: all.requests,
        failures: all.failures,
        p99Before,
        p99During,
        servedDuring: during.ok,
        hungOutcome,
      },
    },
  ]);
} finally {
  await t.stop();
}
