/**
 * Shipping a new image version on one host, under constant load through nginx: compose's own way
 * (`up -d --no-deps --force-recreate SERVICE`) against `scripts/rollout SERVICE` (scale up beside
 * the old containers, wait until healthy, let nginx re-resolve, stop the old ones gracefully).
 * Both replace the backend with a new image tag (same code); the load is GET / and POST /upload
 * alternating, at a fixed rate, over keep-alive, through nginx's HTTPS port. Figures: requests
 * started from the command until 5 s after it returned, failed ones by kind, and how long the
 * command took.
 *
 *   flock /tmp/gw-measure.lock node --import tsx reliability/faults/compose-rollout.ts
 *   COMPOSE_CLI=docker-compose RATE=100 ... (the compose CLI; default: Compose v2 if it answers)
 *
 * Needs a Docker engine with the project's images buildable (see docs/containers.md); skipped
 * with a reason otherwise. Uses its own compose project and free host ports, and tears down.
 */
import { join } from 'node:path';
import { composeCli, dockerAnswers, ROOT, runAsync, sh } from '@gw/harness';
import { composeStack, failuresIn } from '../lib/compose-stack.js';
import { type CaseResult, failureKinds, Load, ok, report, round, sleep } from '../lib/measure.js';

const PROJECT = 'gwrollout';
const RATE = Number(process.env.RATE ?? 100);
const BODY = 'x'.repeat(4096);

const rows: CaseResult[] = [];
const cli = dockerAnswers() ? composeCli() : undefined;
if (!cli) {
  for (const topology of ['full', 'proxy'])
    rows.push({
      case: 'new image version under load',
      topology,
      pass: undefined,
      result: 'skipped: no Docker engine or compose CLI',
      figures: {},
    });
} else {
  const stack = await composeStack(cli, PROJECT, { STACK_TAG: 'rollout-a' });
  const { ports, env, compose } = stack;
  // Each replacement brings a new tag of the same image: what a new version looks like to compose.
  const retag = (tag: string) => {
    for (const image of ['node-gateway-stack', 'node-gateway-stack-nginx'])
      sh('docker', ['tag', `${image}:rollout-a`, `${image}:${tag}`]);
  };
  const only = process.env.TOPOLOGY?.split(',');
  const cases = [
    { profile: 'full', service: 'gateway-full', port: ports.HOST_PORT_FULL_TLS },
    { profile: 'proxy', service: 'app', port: ports.HOST_PORT_PROXY_TLS },
  ] as const;
  const tags: string[] = [];
  for (const c of cases.filter((x) => !only || only.includes(x.profile))) {
    const down = () => stack.down(c.profile);
    try {
      down();
      const base = await stack.upHealthy(c.profile, c.port);

      const load = new Load({
        baseUrl: base,
        rate: RATE,
        maxSeconds: 400,
        timeoutMs: 15_000,
        localAddress: '127.0.0.2',
        path: (i) => (i % 2 ? { path: '/upload', method: 'POST', body: BODY } : { path: '/' }),
      });
      await sleep(3000);
      const ways = [
        {
          way: 'scripts/rollout',
          run: (tag: string) =>
            runAsync(join(ROOT, 'scripts/rollout'), ['-p', PROJECT, c.service], {
              env: { ...env, STACK_TAG: tag, COMPOSE: cli.join(' '), COMPOSE_PROFILES: c.profile },
            }),
        },
        {
          way: 'up --force-recreate',
          run: (tag: string) =>
            runAsync(
              cli[0] as string,
              [
                ...cli.slice(1),
                '-p',
                PROJECT,
                '--profile',
                c.profile,
                ...['up', '-d', '--no-deps', '--force-recreate', c.service],
              ],
              { env: { ...env, STACK_TAG: tag } },
            ),
        },
      ];
      const onlyWays = process.env.WAYS?.split(',');
      for (const w of ways.filter((x) => !onlyWays || onlyWays.includes(x.way))) {
        const tag = `rollout-${tags.length + 2}`;
        tags.push(tag);
        retag(tag);
        const from = load.now();
        const t0 = performance.now();
        const ran = await w.run(tag);
        const tookS = (performance.now() - t0) / 1000;
        await sleep(5000);
        const r = failuresIn(load.samples, from, load.now(), (s) => !ok(s));
        if (r.failed) {
          // What nginx says about them: its error lines and the failed requests' upstreams.
          const nginx = compose(c.profile, [
            'logs',
            '--no-color',
            '--since',
            `${Math.ceil(tookS) + 15}s`,
            c.profile === 'full' ? 'nginx-full' : 'nginx-proxy',
          ]).out;
          const lines = nginx.split('\n').filter((l) => /\[(error|crit|warn)\]|"status":5\d\d/.test(l));
          console.log(`# ${c.profile} ${w.way}: nginx on the failures:\n${lines.slice(-20).join('\n')}`);
        }
        const pass = ran.status === 0;
        rows.push({
          case: `new image version of ${c.service} under load (${w.way})`,
          topology: c.profile,
          // The rollout's target is 0 failed; compose's own recreate is the figure it is compared with.
          pass: w.way === 'scripts/rollout' ? pass && r.failed === 0 : pass ? undefined : false,
          result:
            `${r.failed} failed of ${r.requests} (GET / and POST /upload at ${RATE} req/s, ${cli.join(' ')})` +
            `${r.failed ? `: ${failureKinds(r.byKind)}` : ''}; the command took ${round(tookS, 1)} s` +
            (pass ? '' : `; it FAILED: ${(ran.stderr + ran.stdout).slice(-400)}`),
          figures: { ...r, tookS: round(tookS, 1), way: w.way, cli: cli.join(' ') },
        });
        await sleep(3000);
      }
      await load.stop();
    } catch (err) {
      rows.push({
        case: 'new image version under load',
        topology: c.profile,
        pass: false,
        result: (err as Error).message.split('\n')[0]!,
        figures: {},
      });
    } finally {
      down();
    }
  }
  for (const tag of tags)
    for (const image of ['node-gateway-stack', 'node-gateway-stack-nginx']) sh('docker', ['rmi', `${image}:${tag}`]);
}
report(rows);
