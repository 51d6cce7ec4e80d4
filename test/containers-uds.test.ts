// Profile `full` over a unix socket (docker-compose.uds.yml over docker-compose.yml), built and run
// on a real Docker engine: nginx serves through the socket, the socket and its volume have the
// owners and modes docs/containers.md states (nginx's group, nobody else), other users of the
// gateway's container cannot connect, the gateway has no TCP port for the hop, both root
// filesystems stay read-only, and scripts/rollout refuses the service before changing anything.
//
// Like test/containers.test.ts: needs `docker info` to answer and the base images present;
// skipped with the reason otherwise, unless REQUIRE_DOCKER=1. Its own compose project and image
// tag; everything it starts is removed at the end, also on failure. Run it under the Docker lock:
//   flock /work/docker.lock env REQUIRE_DOCKER=1 node --import tsx --test test/containers-uds.test.ts
import { strict as assert } from 'node:assert';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type ComposeStack,
  compose,
  composeCli,
  composeOrThrow,
  dockerAnswers,
  freePort,
  pollFor,
  ROOT,
  removeProject,
  run,
} from '@gw/harness';

const PROJECT = 'udstest';
const FILES = ['docker-compose.yml', 'docker-compose.uds.yml'];
const SOCKET = '/run/gateway/gateway.sock';
const engine = dockerAnswers();
const cli = engine ? composeCli() : undefined;
const skip =
  engine && cli
    ? false
    : process.env.REQUIRE_DOCKER === '1'
      ? false
      : engine
        ? 'no compose CLI (docker compose or docker-compose)'
        : '`docker info` failed: no Docker engine answers (run .ci/docker-engine.sh, or set REQUIRE_DOCKER=1 to fail instead)';

let stack: ComposeStack;
let tlsPort = 0;

/** GET over HTTPS on the published port (the development certificate, not verified). */
function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port: tlsPort, path, servername: 'localhost', rejectUnauthorized: false, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', reject);
  });
}

const containerOf = (service: string): string => composeOrThrow(stack, ['ps', '-q', service]).trim();
/** `docker exec` in a service's container, as `user` when given; its stdout. */
const exec = (service: string, argv: string[], user?: string): string =>
  run('docker', ['exec', ...(user ? ['-u', user] : []), containerOf(service), ...argv]).stdout.trim();
/** What a process in the gateway's container gets when it connects to `target` (a path, or a port on 127.0.0.1). */
const connectFrom = (user: string, target: string): string =>
  exec(
    'gateway-full',
    [
      'node',
      '-e',
      "const a = process.argv[1], s = require('net').connect(/^\\d+$/.test(a) ? { port: +a, host: '127.0.0.1' } : a);" +
        "s.on('connect', () => { console.log('connected'); s.destroy(); }); s.on('error', (e) => console.log(e.code));",
      target,
    ],
    user,
  );

describe('compose profile full over a unix socket (docker-compose.uds.yml)', { skip }, () => {
  before(async () => {
    assert.ok(engine, 'no Docker engine answers (REQUIRE_DOCKER=1)');
    assert.ok(cli, 'no compose CLI');
    tlsPort = await freePort();
    const env = {
      STACK_TAG: PROJECT,
      HOST_BIND: '127.0.0.1',
      HOST_PORT_FULL: String(await freePort()),
      HOST_PORT_FULL_TLS: String(tlsPort),
    };
    stack = { cli, project: PROJECT, files: FILES, profile: 'full', env };
    removeProject(PROJECT, ['full'], stack); // leftovers of an interrupted run
    composeOrThrow(stack, ['build'], 20 * 60_000);
    composeOrThrow(stack, ['up', '-d'], 5 * 60_000);
    await pollFor(
      `the full profile over the socket on 127.0.0.1:${tlsPort}`,
      async () => ((await get('/healthz')).status === 200 ? true : undefined),
      120_000,
      1000,
    );
  });
  after(() => {
    if (stack) removeProject(PROJECT, ['full'], stack);
  });

  it('serves through nginx and the socket, the gateway believing what nginx forwards', async () => {
    const home = await get('/');
    assert.equal(home.status, 200, home.body);
    const who = JSON.parse((await get('/whoami')).body) as { scheme: string; ip: string };
    // X-Forwarded-Proto from a unix-socket peer is believed: the app sees the client's https.
    assert.equal(who.scheme, 'https');
    assert.match(who.ip, /^\d+\.\d+\.\d+\.\d+$/);
    // nginx's upstream is the socket, and the gateway listens on it and on no TCP port for the hop.
    assert.match(
      exec('nginx-full', ['cat', '/etc/nginx/nginx.conf']),
      /server unix:\/run\/gateway\/gateway\.sock max_fails/,
    );
    assert.equal(connectFrom('node', '8000'), 'ECONNREFUSED');
  });

  it("the socket is the gateway's user's and nginx's group's, nobody else's", () => {
    // The volume: owner node (1000), group nginx (101), setgid, nothing for others; the socket: 660, same owners.
    assert.equal(exec('gateway-full', ['stat', '-c', '%a %u %g', '/run/gateway']), '2750 1000 101');
    assert.equal(exec('gateway-full', ['stat', '-c', '%a %u %g', SOCKET]), '660 1000 101');
    // nginx's identity connects (it serves, above); any other does not, even in the gateway's container.
    assert.equal(connectFrom('101:101', SOCKET), 'connected');
    assert.equal(connectFrom('4242:4242', SOCKET), 'EACCES');
    assert.equal(connectFrom('101:4242', SOCKET), 'EACCES');
    // Both root filesystems are still read-only; nginx's mount of the volume is too.
    for (const service of ['gateway-full', 'nginx-full']) {
      const ro = run('docker', ['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', containerOf(service)]).stdout.trim();
      assert.equal(ro, 'true', `${service}: read-only root filesystem`);
    }
    const nginxTry = run('docker', ['exec', containerOf('nginx-full'), 'touch', '/run/gateway/x'], { allowFail: true });
    assert.notEqual(nginxTry.status, 0, 'nginx cannot write to the socket volume');
  });

  it('scripts/rollout refuses the gateway over a socket, before changing anything', () => {
    const before = containerOf('gateway-full');
    const r = run(join(ROOT, 'scripts/rollout'), [...FILES.flatMap((f) => ['-f', f]), '-p', PROJECT, 'gateway-full'], {
      allowFail: true,
      env: { ...stack.env, COMPOSE: (cli as string[]).join(' '), COMPOSE_PROFILES: 'full' } as Record<string, string>,
    });
    assert.equal(r.status, 2, `${r.stderr}\n${r.stdout}`);
    assert.match(r.stderr, /ROLLOUT_UNIX_SOCKET/);
    assert.equal(containerOf('gateway-full'), before, 'the gateway was left as it was');
    assert.equal(compose(stack, ['ps', '-q', 'gateway-full']).stdout.trim().split('\n').length, 1);
  });
});
