// deploy/swarm/stack.yml on a real single-node Docker Swarm, under constant load through nginx.
//
// Initialises a swarm (`docker swarm init --advertise-addr 127.0.0.1`) when none is active and
// leaves it at the end (only one it created: a swarm it found is left as it was, with only this
// test's stack removed). Deploys the stack from this tree's images under a stack name, ports and
// image tags of its own, with a development certificate as its secret, then, with GET / and
// POST /upload at a fixed rate through both nginx services' HTTPS ports:
//   1. a rolling update of the backends (gateway of `full`, app of `proxy`) to a new tag of the
//      same image: 0 failed;
//   2. an update to an image whose app cannot start: Swarm rolls it back by itself, the old tasks
//      keep serving: 0 failed;
//   3. nginx's own service updated: one task per node holding a host-mode port, so stop-first;
//      the count is reported (docs/swarm.md says why it is not 0 on one node).
// Each prints its figures (`# swarm: …`); docs/swarm.md quotes them.
//
// Needs `docker info` to answer and the base images (.ci/base-images.sh); skipped with the reason
// otherwise, unless REQUIRE_DOCKER=1. Everything it creates is removed at the end, also on failure.
// On a shared machine: `flock /work/docker.lock node --import tsx --test test/swarm.test.ts`.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEV_CERT_SCRIPT, dockerAnswers, freePort, pollFor, run, runAsync } from '@gw/harness';
import { Load, ok, sleep } from '../reliability/lib/measure.js';
import {
  buildImages,
  type DockerCli,
  describeWindow,
  IMAGE,
  log,
  removeImages,
  runningImages,
  STACK_FILE,
  tagsOf,
  updateUnderLoad,
} from './swarm-helpers.ts';

const STACK = 'gwswarmtest';
const RATE = Number(process.env.SWARM_RATE ?? 40);
const BODY = 'x'.repeat(4096);
const TAGS = tagsOf('swarmtest');
const CLI: DockerCli = ['docker'];

const engineAnswers = dockerAnswers();
const skip = engineAnswers
  ? false
  : process.env.REQUIRE_DOCKER === '1'
    ? false
    : '`docker info` failed: no Docker engine answers (run .ci/docker-engine.sh, or set REQUIRE_DOCKER=1 to fail instead)';

const docker = (args: string[], opts?: Parameters<typeof run>[2]) => run('docker', args, opts);
const swarmState = (): string =>
  docker(['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}']).stdout.trim();

describe('Docker Swarm, one node: deploy/swarm/stack.yml under load', { skip, timeout: 30 * 60_000 }, () => {
  let createdSwarm = false;
  let certDir = '';
  const ports = { full: 0, fullTls: 0, proxy: 0, proxyTls: 0 };
  const loads: Load[] = [];
  const svc = (name: string) => `${STACK}_${name}`;

  const stackEnv = (): Record<string, string> => ({
    STACK_IMAGE: IMAGE,
    STACK_TAG: TAGS.base,
    TLS_CERT_FILE: join(certDir, 'tls.crt'),
    TLS_KEY_FILE: join(certDir, 'tls.key'),
    HOST_PORT_FULL: String(ports.full),
    HOST_PORT_FULL_TLS: String(ports.fullTls),
    HOST_PORT_PROXY: String(ports.proxy),
    HOST_PORT_PROXY_TLS: String(ports.proxyTls),
    // Light on a shared 2-core machine: two replicas of each backend, one worker per gateway.
    WEB_CONCURRENCY: '1',
  });

  /** Load through one nginx's HTTPS port: GET / and POST /upload alternating, at RATE. */
  const startLoad = (port: number): Load => {
    const load = new Load({
      baseUrl: `https://127.0.0.1:${port}`,
      rate: RATE,
      maxSeconds: 900,
      timeoutMs: 15_000,
      path: (i) => (i % 2 ? { path: '/upload', method: 'POST', body: BODY } : { path: '/' }),
    });
    loads.push(load);
    return load;
  };

  before(async () => {
    assert.ok(engineAnswers, '`docker info` failed: no Docker engine answers (REQUIRE_DOCKER=1)');
    const t0 = Date.now();
    buildImages(TAGS);
    log(`images built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const state = swarmState();
    if (state.startsWith('inactive')) {
      docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
      createdSwarm = true;
      log('no swarm was active: initialised a single-node swarm (left at the end)');
    } else {
      assert.match(state, /^active true$/, `this engine is in a swarm but not a manager (${state}): cannot deploy`);
      log('a swarm was already active: using it, and leaving it as it was');
    }
    certDir = mkdtempSync(join(tmpdir(), 'swarm-cert-'));
    run('bash', [DEV_CERT_SCRIPT, certDir]);
    for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
    docker(['stack', 'deploy', '--resolve-image', 'never', '-c', STACK_FILE, STACK], { env: stackEnv() });
    for (const port of [ports.fullTls, ports.proxyTls])
      await pollFor(
        `the stack answering 200 on ${port}`,
        async () => {
          const probe = new Load({ baseUrl: `https://127.0.0.1:${port}`, rate: 4, maxSeconds: 1, timeoutMs: 2000 });
          await sleep(700);
          return (await probe.stop()).some((s) => s.status === 200) ? true : undefined;
        },
        180_000,
        1000,
      );
    log(`stack ${STACK} deployed and answering after ${((Date.now() - t0) / 1000).toFixed(0)} s in all`);
  });

  after(async () => {
    await Promise.all(loads.map((l) => l.stop()));
    docker(['stack', 'rm', STACK], { allowFail: true });
    // stack rm returns at once; its containers stop gracefully (stop_grace_period at most).
    await pollFor(
      'the stack gone',
      async () =>
        docker(['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${STACK}`], {
          allowFail: true,
        }).stdout.trim()
          ? undefined
          : true,
      90_000,
      1000,
    ).catch((e: Error) => log(e.message));
    for (const id of docker(['network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${STACK}`], {
      allowFail: true,
    }).stdout.split('\n'))
      if (id) docker(['network', 'rm', id], { allowFail: true });
    if (createdSwarm) {
      docker(['swarm', 'leave', '--force'], { allowFail: true });
      // The bridge that `swarm init` made for host-mode ports and overlay tasks' way out.
      docker(['network', 'rm', 'docker_gwbridge'], { allowFail: true });
    }
    removeImages(TAGS);
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  /** What nginx logged about trouble lately (errors, workers that died), for a failed window. */
  const nginxTrouble = async (service: string): Promise<void> => {
    const r = await runAsync('docker', ['service', 'logs', '--raw', '--since', '4m', svc(service)], {
      timeoutMs: 30_000,
    });
    const lines = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter(
        (l) =>
          /\[(alert|crit|emerg|error)\]|exited on signal|"status":5\d\d/.test(l) && !/could not be resolved/.test(l),
      );
    log(`${service} on the failures:\n${lines.slice(-15).join('\n')}`);
  };

  it('runs hardened, with the certificate from its secret, nginx config from a Docker config, backends by DNS', async () => {
    const byService = (name: string) =>
      docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${svc(name)}`])
        .stdout.split('\n')
        .filter(Boolean);
    for (const name of ['gateway', 'app', 'nginx-full', 'nginx-proxy']) {
      const ids = byService(name);
      assert.ok(ids.length > 0, `${name}: no running container`);
      const seen = docker([
        'inspect',
        ids[0] as string,
        '--format',
        '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}}',
      ]).stdout.trim();
      assert.equal(seen, 'true [ALL]', `${name}: read-only root and no capabilities`);
    }
    const nginx = byService('nginx-full')[0] as string;
    const logs = docker(['logs', nginx]);
    assert.match(`${logs.stdout}${logs.stderr}`, /serving the mounted certificate \/etc\/nginx\/certs\/tls\.crt/);
    const crt = docker(['exec', nginx, 'cat', '/etc/nginx/certs/tls.crt']).stdout;
    assert.match(crt, /BEGIN CERTIFICATE/);
    assert.equal(docker(['exec', nginx, 'stat', '-c', '%u %a', '/etc/nginx/certs/tls.key']).stdout.trim(), '101 400');
    // dnsrr: the backend's name is every task's own address (two replicas), which nginx balances itself.
    // Waited for: the stack answers once one task does, and CI once asked before the second was in the DNS.
    const addresses = () =>
      new Set(
        docker(['exec', nginx, 'getent', 'ahostsv4', 'backend'])
          .stdout.split('\n')
          .filter(Boolean)
          .map((l) => l.split(/\s+/)[0]),
      );
    const seen = await pollFor(
      'two backend addresses in the DNS',
      async () => (addresses().size >= 2 ? addresses() : undefined),
      60_000,
      1000,
    ).catch(() => addresses());
    assert.equal(seen.size, 2, [...seen].join(' '));
  });

  it('a rolling update of the backends to a new tag, under load: 0 failed', async () => {
    const full = startLoad(ports.fullTls);
    const proxy = startLoad(ports.proxyTls);
    await sleep(3000);
    const args = ['--image', `${IMAGE}:${TAGS.next}`, '--no-resolve-image'];
    const [g, a] = await Promise.all([
      updateUnderLoad(CLI, full, svc('gateway'), args),
      updateUnderLoad(CLI, proxy, svc('app'), args),
    ]);
    const rows = [
      ['gateway (full)', g, 'nginx-full'],
      ['app (proxy)', a, 'nginx-proxy'],
    ] as const;
    for (const [name, r, nginx] of rows) {
      log(
        `rolling update of ${name} to ${TAGS.next} at ${RATE} req/s: ${describeWindow(r.window)}; settled "${r.state}" in ${r.tookS} s`,
      );
      if (r.window.failed) await nginxTrouble(nginx);
    }
    for (const [, r] of rows) {
      assert.equal(r.ran.status, 0, r.ran.stderr);
      assert.equal(r.state, 'completed');
      assert.equal(r.window.failed, 0, describeWindow(r.window));
      assert.ok(r.window.requests > RATE * 10, `too few requests: ${r.window.requests}`);
    }
    for (const name of ['gateway', 'app'])
      for (const line of await runningImages(CLI, svc(name))) assert.match(line, new RegExp(`:${TAGS.next} Running`));
  });

  it('an image whose app cannot start: Swarm rolls back by itself, the old tasks serve on: 0 failed', async () => {
    const [full, proxy] = loads as [Load, Load];
    const args = ['--image', `${IMAGE}:${TAGS.broken}`, '--no-resolve-image'];
    const [g, a] = await Promise.all([
      updateUnderLoad(CLI, full, svc('gateway'), args),
      updateUnderLoad(CLI, proxy, svc('app'), args),
    ]);
    for (const [name, r] of [
      ['gateway (full)', g],
      ['app (proxy)', a],
    ] as const) {
      log(`update of ${name} to ${TAGS.broken}: ${describeWindow(r.window)}; settled "${r.state}" in ${r.tookS} s`);
      assert.equal(r.state, 'rollback_completed', `${name}: Swarm did not roll back by itself`);
      assert.equal(r.window.failed, 0, describeWindow(r.window));
    }
    for (const name of ['gateway', 'app'])
      for (const line of await runningImages(CLI, svc(name))) assert.match(line, new RegExp(`:${TAGS.next} Running`));
  });

  it("nginx's own service updated (stop-first on a host-mode port): the count is reported", async () => {
    const [full] = loads as [Load, Load];
    const r = await updateUnderLoad(CLI, full, svc('nginx-full'), [
      '--image',
      `${IMAGE}-nginx:${TAGS.next}`,
      '--no-resolve-image',
    ]);
    log(
      `update of nginx-full (one node, stop-first): ${describeWindow(r.window)}; settled "${r.state}" in ${r.tookS} s`,
    );
    assert.equal(r.state, 'completed');
    // No target of 0 here (the port is closed while the one task is swapped); it must serve again.
    const last = full.samples.filter((s) => s.start > full.now() - 3000);
    assert.ok(last.length > 0 && last.every(ok), 'nginx-full does not serve after its update');
  });
});
