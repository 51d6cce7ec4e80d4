// deploy/swarm/stack.yml on a three-node Swarm of Docker-in-Docker nodes on this machine, under load.
//
// Three containers of .ci/swarm-node-image.sh (Debian's docker.io in each, its own dockerd and
// /var/lib/docker on a volume) on a bridge network of their own, joined as one swarm (node 1 the
// manager, 2 and 3 workers). They cannot pull: this tree's images are `docker save`d here and
// `docker load`ed into each, and the stack is deployed with `--resolve-image never`. Not
// --privileged, which cannot start here (../shared/CONTAINERS-OFFLINE.md): every capability but
// SYS_RESOURCE, unconfined seccomp/apparmor/system paths, all devices. With GET / and POST /upload
// through nginx's HTTPS port on nodes 1 and 2 (host-mode ports: one nginx task per node):
//   1. the stack spread across the nodes (a gateway task and an nginx task on each);
//   2. a rolling update of the gateway to a new tag: 0 failed;
//   3. node 3 drained: its tasks move to the others, the load through the nodes that stay up: 0 failed.
// Everything (nodes, their volumes, the network, the image archive) is removed at the end, also on
// failure. Needs a Docker engine, debootstrap and a Debian mirror the first time (the root is cached);
// skipped with the reason otherwise, unless REQUIRE_DOCKER=1.
// On a shared machine: `flock /work/docker.lock node --import tsx --test test/swarm-nodes.test.ts`.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEV_CERT_SCRIPT, dockerAnswers, pollFor, ROOT, run, runAsync } from '@gw/harness';
import { Load, sleep } from '../reliability/lib/measure.js';
import {
  buildImages,
  type DockerCli,
  describeWindow,
  IMAGE,
  log,
  removeImages,
  runningImages,
  tagsOf,
  updateUnderLoad,
  windowOf,
} from './swarm-helpers.ts';

const PREFIX = 'gwswarmnode';
const NODES = [1, 2, 3].map((i) => `${PREFIX}${i}`);
const NETWORK = `${PREFIX}s`;
const LABEL = 'stack.swarm-nodes-test=1';
const STACK = 'gwnodes';
const RATE = Number(process.env.SWARM_RATE ?? 40);
const BODY = 'x'.repeat(4096);
const MANAGER = NODES[0] as string;
const TAGS = tagsOf('swarmnodestest');
const CLI: DockerCli = ['docker', 'exec', MANAGER, 'docker'];

const engineAnswers = dockerAnswers();
const skip = engineAnswers
  ? false
  : process.env.REQUIRE_DOCKER === '1'
    ? false
    : '`docker info` failed: no Docker engine answers (run .ci/docker-engine.sh, or set REQUIRE_DOCKER=1 to fail instead)';

const docker = (args: string[], opts?: Parameters<typeof run>[2]) => run('docker', args, opts);
const inNode = (node: string, args: string[], opts?: Parameters<typeof run>[2]) =>
  docker(['exec', node, 'docker', ...args], opts);
const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

describe('Docker Swarm, three Docker-in-Docker nodes: spread, rolling update, a node drained', {
  skip,
  timeout: 30 * 60_000,
}, () => {
  let work = '';
  const ips = new Map<string, string>();
  const loads: Load[] = [];

  function teardown(): void {
    const ids = docker(['ps', '-aq', '--filter', `label=${LABEL}`], { allowFail: true })
      .stdout.split('\n')
      .filter(Boolean);
    if (ids.length) docker(['rm', '-f', '-v', ...ids], { allowFail: true, timeoutMs: 180_000 });
    const vols = docker(['volume', 'ls', '-q', '--filter', `label=${LABEL}`], { allowFail: true }).stdout.split('\n');
    for (const v of vols.filter(Boolean)) docker(['volume', 'rm', '-f', v], { allowFail: true });
    docker(['network', 'rm', NETWORK], { allowFail: true });
  }

  before(async () => {
    assert.ok(engineAnswers, '`docker info` failed: no Docker engine answers (REQUIRE_DOCKER=1)');
    const t0 = Date.now();
    teardown();
    buildImages(TAGS);
    const nodeImage = run('bash', [join(ROOT, '.ci/swarm-node-image.sh')], { timeoutMs: 10 * 60_000 }).stdout.trim();
    log(`images and the node image (${nodeImage}) ready after ${secs(t0)}`);
    work = mkdtempSync(join(tmpdir(), 'swarm-nodes-'));
    run('bash', [DEV_CERT_SCRIPT, join(work, 'certs')]);
    docker(['network', 'create', '--label', LABEL, NETWORK]);
    for (const [i, node] of NODES.entries()) {
      docker(['volume', 'create', '--label', LABEL, `${node}-docker`]);
      docker([
        'run',
        '-d',
        '--name',
        node,
        '--hostname',
        `node${i + 1}`,
        '--network',
        NETWORK,
        '--label',
        LABEL,
        '--cap-add',
        'ALL',
        '--cap-drop',
        'SYS_RESOURCE',
        '--security-opt',
        'seccomp=unconfined',
        '--security-opt',
        'apparmor=unconfined',
        '--security-opt',
        'systempaths=unconfined',
        '--device-cgroup-rule',
        'a *:* rwm',
        '-v',
        `${node}-docker:/var/lib/docker`,
        '-v',
        `${ROOT}:/repo:ro`,
        '-v',
        `${join(work, 'certs')}:/certs:ro`,
        nodeImage,
      ]);
      ips.set(
        node,
        docker([
          'inspect',
          node,
          '--format',
          `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`,
        ]).stdout.trim(),
      );
    }
    for (const node of NODES)
      await pollFor(
        `dockerd in ${node}`,
        async () =>
          (await runAsync('docker', ['exec', node, 'docker', 'info'], { timeoutMs: 10_000 })).status === 0
            ? true
            : undefined,
        90_000,
        1000,
      );
    log(`three nodes' engines answer after ${secs(t0)}`);
    // The project's images into every node (they cannot pull), in parallel.
    const archive = join(work, 'images.tar');
    docker(
      ['save', '-o', archive, ...[IMAGE, `${IMAGE}-nginx`].flatMap((i) => [`${i}:${TAGS.base}`, `${i}:${TAGS.next}`])],
      {
        timeoutMs: 300_000,
      },
    );
    const loaded = await Promise.all(
      NODES.map((n) =>
        runAsync('sh', ['-c', `docker exec -i ${n} docker load -q < "${archive}"`], { timeoutMs: 300_000 }),
      ),
    );
    for (const r of loaded) assert.equal(r.status, 0, r.stderr);
    rmSync(archive);
    log(`images loaded into the nodes after ${secs(t0)}`);
    inNode(MANAGER, ['swarm', 'init', '--advertise-addr', ips.get(MANAGER) as string]);
    const token = inNode(MANAGER, ['swarm', 'join-token', '-q', 'worker']).stdout.trim();
    for (const node of NODES.slice(1)) inNode(node, ['swarm', 'join', '--token', token, `${ips.get(MANAGER)}:2377`]);
    // A node that has just joined can still be Unknown to the manager: a stack deployed then is
    // spread over the Ready ones only, and Swarm does not rebalance it later.
    await pollFor(
      `${NODES.length} Ready, Active nodes`,
      async () => {
        const ls = inNode(MANAGER, ['node', 'ls', '--format', '{{.Status}} {{.Availability}}'])
          .stdout.trim()
          .split('\n');
        return ls.length === NODES.length && ls.every((l) => l === 'Ready Active') ? true : undefined;
      },
      60_000,
      1000,
    );
    const env = {
      STACK_IMAGE: IMAGE,
      STACK_TAG: TAGS.base,
      TLS_CERT_FILE: '/certs/tls.crt',
      TLS_KEY_FILE: '/certs/tls.key',
      GATEWAY_REPLICAS: '3',
      APP_REPLICAS: '2',
      WEB_CONCURRENCY: '1',
      // The load asks for https://NODE-IP:8443/: nginx answers only names it serves (else 444).
      NGINX_SERVER_NAMES: `localhost ${[...ips.values()].join(' ')}`,
    };
    docker([
      'exec',
      ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
      MANAGER,
      'docker',
      'stack',
      'deploy',
      '--resolve-image',
      'never',
      '-c',
      '/repo/deploy/swarm/stack.yml',
      STACK,
    ]);
    // What the stack's tasks are doing, should it not come up.
    const tasks = () =>
      log(
        inNode(
          MANAGER,
          ['stack', 'ps', STACK, '--no-trunc', '--format', '{{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}'],
          {
            allowFail: true,
          },
        ).stdout,
      );
    for (const node of NODES.slice(0, 2))
      await pollFor(
        `nginx-full answering 200 on ${node}`,
        async () => {
          const probe = new Load({ baseUrl: `https://${ips.get(node)}:8443`, rate: 4, maxSeconds: 1, timeoutMs: 2000 });
          await sleep(700);
          return (await probe.stop()).some((s) => s.status === 200) ? true : undefined;
        },
        240_000,
        2000,
      ).catch((e: Error) => {
        tasks();
        throw e;
      });
    // And every gateway task up (the spread is checked below).
    await pollFor(
      '3 gateway tasks running',
      async () =>
        (await runningImages(CLI, `${STACK}_gateway`)).filter((l) => / Running /.test(l)).length === 3
          ? true
          : undefined,
      180_000,
      2000,
    );
    log(`three-node swarm with the stack deployed and answering after ${secs(t0)}`);
  });

  after(async () => {
    await Promise.all(loads.map((l) => l.stop()));
    teardown();
    removeImages(TAGS);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const startLoads = (): [Load, Load] => {
    const l = NODES.slice(0, 2).map(
      (node) =>
        new Load({
          baseUrl: `https://${ips.get(node)}:8443`,
          rate: RATE / 2,
          maxSeconds: 900,
          timeoutMs: 15_000,
          path: (i) => (i % 2 ? { path: '/upload', method: 'POST', body: BODY } : { path: '/' }),
        }),
    ) as [Load, Load];
    loads.push(...l);
    return l;
  };

  it('spreads the stack across the three nodes (a gateway task and an nginx task on each)', () => {
    for (const service of ['gateway', 'nginx-full', 'nginx-proxy']) {
      const on = inNode(MANAGER, [
        'service',
        'ps',
        `${STACK}_${service}`,
        '--filter',
        'desired-state=running',
        '--format',
        '{{.Node}}',
      ]).stdout;
      assert.deepEqual(
        [...new Set(on.split('\n').filter(Boolean))].sort(),
        ['node1', 'node2', 'node3'],
        `${service} on: ${on}`,
      );
    }
  });

  it('a rolling update of the gateway to a new tag, load through nodes 1 and 2: 0 failed', async () => {
    const [a, b] = startLoads();
    await sleep(3000);
    const args = ['--image', `${IMAGE}:${TAGS.next}`, '--no-resolve-image'];
    const from = b.now();
    const r = await updateUnderLoad(CLI, a, `${STACK}_gateway`, args, 300_000);
    const other = windowOf(b.samples, from, b.now());
    log(
      `3 nodes: rolling update of the gateway (3 tasks) to ${TAGS.next} at ${RATE} req/s: ` +
        `through node1 ${describeWindow(r.window)}, through node2 ${describeWindow(other)}; ` +
        `settled "${r.state}" in ${r.tookS} s`,
    );
    assert.equal(r.state, 'completed');
    assert.equal(r.window.failed + other.failed, 0, `${describeWindow(r.window)}; ${describeWindow(other)}`);
    for (const line of await runningImages(CLI, `${STACK}_gateway`))
      assert.match(line, new RegExp(`:${TAGS.next} Running`));
  });

  it('node 3 drained under load: its tasks move, the load through nodes 1 and 2: 0 failed', async () => {
    const [a, b] = loads as [Load, Load];
    const from = a.now();
    const t0 = Date.now();
    const drained = await runAsync(
      'docker',
      ['exec', MANAGER, 'docker', 'node', 'update', '--availability', 'drain', 'node3'],
      { timeoutMs: 60_000 },
    );
    assert.equal(drained.status, 0, drained.stderr);
    // Drained: nothing left on node 3, and the gateway back at 3 running tasks on the other two.
    await pollFor(
      'node3 empty and the gateway at 3 tasks',
      async () => {
        const left = await runAsync(
          'docker',
          ['exec', MANAGER, 'docker', 'node', 'ps', 'node3', '--filter', 'desired-state=running', '-q'],
          { timeoutMs: 30_000 },
        );
        const running = (await runningImages(CLI, `${STACK}_gateway`)).filter((l) => / Running /.test(l)).length;
        return left.status === 0 && !left.stdout.trim() && running === 3 ? true : undefined;
      },
      180_000,
      2000,
    );
    const tookS = (Date.now() - t0) / 1000;
    await sleep(5000);
    const w1 = windowOf(a.samples, from, a.now());
    const w2 = windowOf(b.samples, from, b.now());
    log(
      `3 nodes: node3 drained at ${RATE} req/s: through node1 ${describeWindow(w1)}, ` +
        `through node2 ${describeWindow(w2)}; its tasks moved in ${tookS.toFixed(1)} s`,
    );
    assert.equal(w1.failed + w2.failed, 0, `${describeWindow(w1)}; ${describeWindow(w2)}`);
    assert.ok(w1.requests + w2.requests > RATE * 5, 'too few requests');
  });
});
