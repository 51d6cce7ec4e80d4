/**
 * Fault: the backend container behind nginx is restarted, then recreated (a new container, a new
 * address), under constant load, in the nginx topologies as compose runs them (the real images).
 * Claim: nginx recovers by itself, without anyone restarting it. Figures: the failed requests
 * (502s and others) and the time from the command until requests succeed again without a gap.
 *
 *   flock /tmp/gw-measure.lock node --import tsx reliability/faults/compose-restart.ts
 *
 * Needs a Docker engine with the project's images buildable (see docs/containers.md); skipped
 * with a reason otherwise. Uses its own compose project and free host ports, and tears down.
 */
import { composeCli, dockerAnswers, sh } from '@gw/harness';
import { composeStack, failuresIn } from '../lib/compose-stack.js';
import { type CaseResult, failureKinds, Load, report, round, type Sample, sleep } from '../lib/measure.js';

const PROJECT = 'gwfaults';
const RATE = Number(process.env.RATE ?? 100);

/** Failures after the event (errors and 5xx), and how long until the last one ended (the recovery time). */
function afterEvent(samples: Sample[], eventAt: number, until: number) {
  const { lastFailureEnd, ...r } = failuresIn(
    samples,
    eventAt,
    until,
    (s) => s.error !== undefined || s.status >= 500 || s.status === 0,
  );
  return { ...r, recoverMs: lastFailureEnd === undefined ? 0 : lastFailureEnd - eventAt };
}

const rows: CaseResult[] = [];
const skipAll = (why: string) => {
  for (const topology of ['proxy', 'full'])
    rows.push({
      case: 'backend container restarted / recreated under load',
      topology,
      pass: undefined,
      result: `skipped: ${why}`,
      figures: {},
    });
};

const cli = dockerAnswers() ? composeCli() : undefined;
if (!cli) {
  skipAll('no Docker engine or compose CLI');
} else {
  const stack = await composeStack(cli, PROJECT);
  const { ports, compose } = stack;
  const cases: Array<{ profile: 'proxy' | 'full'; service: string; port: number }> = [
    // nginx as shipped: HTTPS (development certificate), plain HTTP redirects.
    { profile: 'full', service: 'gateway-full', port: ports.HOST_PORT_FULL_TLS },
    { profile: 'proxy', service: 'app', port: ports.HOST_PORT_PROXY_TLS },
  ];
  for (const c of cases) {
    const down = () => stack.down(c.profile);
    try {
      down();
      const base = await stack.upHealthy(c.profile, c.port);

      const nginxService = c.profile === 'full' ? 'nginx-full' : 'nginx-proxy';
      const nginxStarted = () => {
        const id = compose(c.profile, ['ps', '-q', nginxService]).out.trim().split('\n')[0] ?? '';
        return sh('docker', ['inspect', '-f', '{{.State.StartedAt}}', id]).stdout.trim();
      };
      const nginxBefore = nginxStarted();
      const load = new Load({
        baseUrl: base,
        rate: RATE,
        maxSeconds: 150,
        timeoutMs: 10_000,
        localAddress: '127.0.0.2',
      });
      await sleep(3000);
      const restartAt = performance.now() - load.t0;
      const restart = compose(c.profile, ['restart', c.service]);
      await sleep(15_000);
      const recreateAt = performance.now() - load.t0;
      const recreate = compose(c.profile, ['up', '-d', '--no-deps', '--force-recreate', c.service]);
      await sleep(20_000);
      const end = performance.now() - load.t0;
      const samples = await load.stop();
      const nginxUntouched = nginxStarted() === nginxBefore;
      for (const [what, at, until, ran] of [
        ['restart', restartAt, recreateAt, restart],
        ['recreate', recreateAt, end, recreate],
      ] as const) {
        const r = afterEvent(samples, at, until);
        const lastOk = samples
          .filter((s) => s.start >= until - 3000 && s.start < until)
          .every((s) => s.error === undefined && s.status === 200);
        rows.push({
          case: `backend container ${
            what === 'restart' ? 'restarted (compose restart)' : 'recreated with a new address (up --force-recreate)'
          } under load`,
          topology: c.profile,
          pass: ran.status === 0 && lastOk && nginxUntouched,
          result:
            `${r.failed} failed of ${r.requests} at ${RATE} req/s after the command (${failureKinds(r.byKind)}); ` +
            `serving again ${round(r.recoverMs / 1000, 1)} s after it; ` +
            `nginx ${nginxUntouched ? 'not restarted (same container start time)' : 'WAS restarted'}` +
            (lastOk ? '' : '; NOT recovered by the end of the window'),
          figures: { ...r, lastOk, nginxUntouched },
        });
      }
    } catch (err) {
      rows.push({
        case: 'backend container restarted / recreated under load',
        topology: c.profile,
        pass: false,
        result: (err as Error).message.split('\n')[0]!,
        figures: {},
      });
    } finally {
      down();
    }
  }
}
report(rows);
