/**
 * Fault: a gateway worker killed with SIGKILL under constant load.
 * Claim: failed requests are at most those in flight on that worker; the replacement serves
 * within 1 s. Load: GET /slow?ms=100 at a fixed rate over keep-alive from 127.0.0.2; a probe
 * opens a fresh connection every 20 ms from 127.0.0.3 (it shows when the new worker answers).
 * A failed request that started before the kill was in flight on the victim (the other worker
 * answers all of its own); one that started after it would be a request the gateway lost on its
 * own account, except in the instant before the client sees the reset: a keep-alive client that
 * writes on the dead worker's connection then gets ECONNRESET (a browser retries it; nothing
 * server-side can answer it). The claim holds when every failure started before the kill or
 * within RST_WINDOW_MS after it. The victim's share of
 * the in-flight total is also estimated from its share of the answers in the second before.
 *
 *   flock /tmp/gw-measure.lock node --import tsx reliability/faults/sigkill.ts
 */

import { failureKinds, Load, report, round, sleep, summarize } from '../lib/measure.js';
import { startGatewayTarget } from '../lib/targets.js';

const RATE = Number(process.env.RATE ?? 200);
const WORKERS = Number(process.env.WORKERS ?? 2);
const RST_WINDOW_MS = 20;

const t = await startGatewayTarget({ workers: WORKERS });
const gw = t.gateway;
try {
  const load = new Load({
    baseUrl: t.baseUrl,
    rate: RATE,
    path: '/slow?ms=100',
    localAddress: '127.0.0.2',
    maxSeconds: 20,
  });
  const probe = new Load({
    baseUrl: t.baseUrl,
    rate: 50,
    path: '/whoami',
    localAddress: '127.0.0.3',
    keepAlive: false,
    maxSeconds: 20,
  });
  await sleep(3000);
  const victim = gw.readyWorkers()[0]!;
  const booted = gw.count(/^Booting worker with pid/);
  const inflightAtKill = load.inFlight();
  process.kill(victim, 'SIGKILL');
  const killedAt = load.now();
  await gw.waitFor(/^Booting worker with pid/, booted + 1, 10_000);
  const fresh = Number(
    /pid: (\d+)/.exec(gw.lines.filter((l) => /^Booting worker with pid/.test(l.msg ?? '')).at(-1)!.msg!)![1],
  );
  await sleep(3000);
  const samples = [...(await load.stop()), ...(await probe.stop())];
  const loadSamples = load.samples;

  const beforeKill = loadSamples.filter((s) => s.end > killedAt - 1000 && s.end <= killedAt && s.pid !== undefined);
  const victimShare = beforeKill.filter((s) => s.pid === victim).length / Math.max(1, beforeKill.length);
  const victimInflight = Math.round(inflightAtKill * victimShare);
  const failed = loadSamples.filter((s) => s.error !== undefined || s.status !== 200);
  const afterKill = failed.filter((s) => s.start >= killedAt);
  const failedAfterKill = afterKill.length;
  const lateMs = round(Math.max(0, ...afterKill.map((s) => s.start - killedAt)), 1);
  const firstByFresh = Math.min(...samples.filter((s) => s.pid === fresh).map((s) => s.end));
  const recoverMs = round(firstByFresh - killedAt, 0);
  const all = summarize(loadSamples);
  const kinds = failureKinds(all.failures);
  report([
    {
      case: 'SIGKILL a worker under load',
      topology: 'gateway',
      pass: lateMs <= RST_WINDOW_MS && recoverMs <= 1000,
      result:
        `${failed.length} failed of ${all.requests} at ${RATE} req/s (${kinds}): ` +
        `${failed.length - failedAfterKill} in flight at the kill, ` +
        `${failedAfterKill} written on its keep-alive connections ≤ ${lateMs} ms after it; ` +
        `${inflightAtKill} in flight at the kill (≈ ${victimInflight} on the victim); replacement served ${recoverMs} ms after the kill`,
      figures: {
        rate: RATE,
        workers: WORKERS,
        requests: all.requests,
        failed: failed.length,
        failedAfterKill,
        lateMs,
        failures: all.failures,
        inflightAtKill,
        victimInflight,
        recoverMs,
        p99: all.p99,
      },
    },
  ]);
} finally {
  await t.stop();
}
