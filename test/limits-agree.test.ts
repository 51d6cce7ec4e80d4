// The numbers that nginx, the compose file, the images and the gateway must agree
// on are declared once, in config/limits.json. The app and the gateway read that
// file at run time; nginx and compose cannot, so their literals are checked here.
// nginx's config is a set of templates: what is checked is what they render to,
// with the defaults and with the environment each compose nginx service gets
// (harness/src/nginx-templates.ts renders them as the image does).
// A failure names the file, the directive and both values.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type NginxTemplateVars, nginxConfigTree } from '@gw/harness';
import { parse as parseYaml } from 'yaml';
import { IDLE_GRACE_MS } from '../server/src/drain.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const limits = JSON.parse(readFileSync(join(ROOT, 'config/limits.json'), 'utf8')) as Record<string, number>;

// ---- a small nginx config reader: blocks, directives, includes ----------------

/** One directive; `children` is set for blocks (`http { ... }`). */
export interface Directive {
  name: string;
  args: string[];
  file: string;
  children?: Directive[];
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)/g;
  for (const m of text.matchAll(re)) {
    if (m[0].startsWith('#')) continue;
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4] ?? '');
  }
  return tokens;
}

/**
 * Parses an nginx config file, expanding `include` of files inside the repo
 * (relative to the main file's directory, as nginx does); includes of absolute
 * system paths such as /etc/nginx/mime.types are left as directives.
 */
export function parseNginx(file: string, confDir = dirname(file)): Directive[] {
  const tokens = tokenize(readFileSync(file, 'utf8'));
  let i = 0;
  const block = (): Directive[] => {
    const out: Directive[] = [];
    while (i < tokens.length) {
      const name = tokens[i++] as string;
      if (name === '}') return out;
      const args: string[] = [];
      while (i < tokens.length && tokens[i] !== ';' && tokens[i] !== '{') args.push(tokens[i++] as string);
      const end = tokens[i++];
      if (end === '{') {
        out.push({ name, args, file, children: block() });
      } else if (name === 'include' && !(args[0] ?? '').startsWith('/')) {
        out.push(...parseNginx(join(confDir, args[0] as string), confDir));
      } else {
        out.push({ name, args, file });
      }
    }
    return out;
  };
  return block();
}

/** Every directive called `name`, at any depth, with the path of blocks leading to it. */
function findAll(tree: Directive[], name: string, path: string[] = []): Array<{ d: Directive; path: string[] }> {
  const found: Array<{ d: Directive; path: string[] }> = [];
  for (const d of tree) {
    if (d.name === name) found.push({ d, path });
    if (d.children) found.push(...findAll(d.children, name, [...path, [d.name, ...d.args].join(' ')]));
  }
  return found;
}

/** nginx time ("60s", "1m", "500ms", "60") in seconds. */
export function nginxSeconds(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value);
  assert.ok(m, `not an nginx time: ${value}`);
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * factor;
}

/** nginx size ("10m", "128k", "10485760") in bytes. */
export function nginxBytes(value: string): number {
  const m = /^(\d+)([kKmMgG])?$/.exec(value);
  assert.ok(m, `not an nginx size: ${value}`);
  const factor = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * factor;
}

// Rendered trees (removed at the end): the defaults, then one per compose nginx service.
const renderRoot = mkdtempSync(join(tmpdir(), 'limits-agree-'));
after(() => rmSync(renderRoot, { recursive: true, force: true }));
let renders = 0;
/** The config the image would run with these template variables, parsed. */
function renderedNginx(vars: NginxTemplateVars = {}): Directive[] {
  const dir = join(renderRoot, String(renders++));
  nginxConfigTree(dir, vars);
  return parseNginx(join(dir, 'nginx.conf'));
}

const nginx = renderedNginx();

/** The one value of a directive that must appear exactly once with one value (possibly repeated identically). */
function single(name: string, where: (path: string[]) => boolean = () => true, tree = nginx): string {
  const hits = findAll(tree, name).filter((h) => where(h.path));
  assert.ok(hits.length > 0, `nginx: no ${name}`);
  const values = new Set(hits.map((h) => h.d.args.join(' ')));
  assert.equal(values.size, 1, `nginx: ${name} has different values: ${[...values].join(' | ')}`);
  return [...values][0] as string;
}

const inUpstream = (path: string[]): boolean => path.some((p) => p.startsWith('upstream '));
const inWebSocket = (path: string[]): boolean => path.some((p) => p === 'location = /ws');
const notInWebSocket = (path: string[]): boolean => !inWebSocket(path);
const notInUpstream = (path: string[]): boolean => !inUpstream(path);

describe('nginx agrees with config/limits.json', () => {
  it('client_max_body_size is the app/gateway body limit', () => {
    assert.equal(nginxBytes(single('client_max_body_size')), limits.bodyLimitBytes);
  });

  it('proxy_read_timeout is proxyReadTimeoutS and covers the longest request the app allows', () => {
    // WebSockets (location /ws) are long-lived by design and get their own, longer timeouts.
    const read = nginxSeconds(single('proxy_read_timeout', notInWebSocket));
    assert.equal(read, limits.proxyReadTimeoutS);
    assert.equal(nginxSeconds(single('proxy_send_timeout', notInWebSocket)), limits.proxyReadTimeoutS);
    assert.ok(
      nginxSeconds(single('proxy_read_timeout', inWebSocket)) > read,
      'location /ws should outlast proxy_read_timeout',
    );
    const longest = Math.max(
      (limits.maxWaitMs as number) / 1000,
      (limits.maxCpuMs as number) / 1000,
      limits.workerTimeoutS as number,
    );
    assert.ok(read >= longest, `proxy_read_timeout ${read}s < the longest allowed request ${longest}s`);
  });

  it('upstream keepalive_timeout is nginxUpstreamKeepAliveTimeoutS, shorter than the backend keep-alive', () => {
    const upstream = nginxSeconds(single('keepalive_timeout', inUpstream));
    assert.equal(upstream, limits.nginxUpstreamKeepAliveTimeoutS);
    // nginx must close an idle upstream connection before the backend does, or it
    // may send a request on a socket the backend is closing (a 502 for the client).
    assert.ok(
      upstream < (limits.gatewayKeepAliveTimeoutS as number),
      `upstream keepalive_timeout ${upstream}s must be < gatewayKeepAliveTimeoutS ${limits.gatewayKeepAliveTimeoutS}s`,
    );
    // A stopping backend leaves its idle connections to nginx for a grace longer than this
    // (the gateway's drain, the app's own server), so nginx closes them first: were the backend to
    // close one just as nginx sends on it, the client would get a 502 (a POST is not retried).
    assert.ok(
      upstream < IDLE_GRACE_MS / 1000,
      `upstream keepalive_timeout ${upstream}s must be < the gateway's drain grace ${IDLE_GRACE_MS / 1000}s`,
    );
    assert.ok(
      upstream < (limits.shutdownDelayS as number),
      `upstream keepalive_timeout ${upstream}s must be < shutdownDelayS ${limits.shutdownDelayS}s`,
    );
    assert.ok(
      findAll(nginx, 'keepalive').some((h) => inUpstream(h.path)),
      'upstream has no keepalive pool',
    );
    assert.equal(single('proxy_http_version'), '1.1');
    // Connection "" for everything but a WebSocket handshake: the $connection_upgrade map.
    const connection = findAll(nginx, 'proxy_set_header')
      .filter((h) => h.d.args[0] === 'Connection')
      .map((h) => h.d.args[1]);
    assert.deepEqual(
      connection,
      ['$connection_upgrade'],
      'proxy_set_header Connection $connection_upgrade is missing (or set twice)',
    );
    const map = findAll(nginx, 'map').find((h) => h.d.args[1] === '$connection_upgrade')?.d.children ?? [];
    assert.deepEqual(
      map.map((d) => [d.name, ...d.args]),
      [
        ['default', 'upgrade'],
        ['', ''],
      ],
      'the $connection_upgrade map must give "" (upstream keep-alive) to every request without Upgrade',
    );
    // ... and the Upgrade it looks at is the client's only in the WebSocket location.
    const maps = findAll(nginx, 'map');
    assert.equal(maps.find((h) => h.d.args[1] === '$connection_upgrade')?.d.args[0], '$upstream_upgrade');
    const upgrade = maps.find((h) => h.d.args[1] === '$upstream_upgrade');
    assert.equal(upgrade?.d.args[0], '$websocket_location');
    assert.deepEqual(
      upgrade?.d.children?.map((d) => [d.name, ...d.args]),
      [
        ['1', '$http_upgrade'],
        ['default', ''],
      ],
    );
  });

  it('the resolver re-asks every nginxResolveValidS, the wait scripts/rollout reads', () => {
    const resolver = findAll(nginx, 'resolver');
    assert.equal(resolver.length, 1, 'one resolver directive, in http');
    const valid = resolver[0]?.d.args.find((a) => a.startsWith('valid='));
    assert.equal(valid && nginxSeconds(valid.slice('valid='.length)), limits.nginxResolveValidS);
    const rollout = readFileSync(join(ROOT, 'scripts/rollout'), 'utf8');
    assert.match(rollout, /nginxResolveValidS/, 'scripts/rollout waits for nginx to re-resolve');
  });

  it('client-side timeouts are the clientXxxTimeoutS values', () => {
    assert.equal(nginxSeconds(single('client_header_timeout')), limits.clientHeaderTimeoutS);
    assert.equal(nginxSeconds(single('client_body_timeout')), limits.clientBodyTimeoutS);
    assert.equal(nginxSeconds(single('send_timeout')), limits.clientSendTimeoutS);
    assert.equal(nginxSeconds(single('keepalive_timeout', notInUpstream)), limits.clientKeepAliveTimeoutS);
  });

  it('every "limits.json: KEY" comment names a key that exists', () => {
    const files = [
      ...readdirSync(join(ROOT, 'nginx/templates'), { recursive: true })
        .map((f) => `nginx/templates/${String(f)}`)
        .filter((f) => f.endsWith('.template')),
      ...readdirSync(join(ROOT, 'nginx/includes')).map((f) => `nginx/includes/${f}`),
      'docker-compose.yml',
      'Dockerfile',
    ];
    assert.ok(files.includes('nginx/templates/nginx.conf.template'), files.join(', '));
    for (const file of files) {
      for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(/limits\.json: (\w+)/g)) {
        assert.ok((m[1] as string) in limits, `${file}: comment names limits.json key ${m[1]}, which does not exist`);
      }
    }
  });
});

// ---- compose ------------------------------------------------------------------

/** The raw file's `${X:-default}` as compose resolves it with X unset (resolved output has none left). */
function rawDefault(value: string): string {
  return value.replace(/^\$\{[A-Z_]+:?-(.*)\}$/, '$1');
}

/**
 * Service name -> its `key: value` scalar lines, from a compose file whose anchors
 * are already resolved (the output of `docker compose config`), or from the raw
 * file when no compose CLI is installed (then anchors are followed by name).
 */
function composeServices(text: string): Map<string, Map<string, string>> {
  const lines = text.split('\n');
  const anchors = new Map<string, Map<string, string>>();
  const services = new Map<string, Map<string, string>>();
  let section = '';
  let current: Map<string, string> | undefined;
  for (const line of lines) {
    const top = /^([A-Za-z0-9_-]+):(?:\s*&([\w-]+))?/.exec(line);
    if (top) {
      section = top[1] as string;
      current = undefined;
      if (top[2]) {
        current = new Map();
        anchors.set(top[2], current);
      }
      continue;
    }
    const service = /^ {2}([A-Za-z0-9_.-]+):\s*$/.exec(line);
    if (section === 'services' && service) {
      current = new Map();
      services.set(service[1] as string, current);
      continue;
    }
    const entry = /^ {2,4}([a-z_<]+):\s*(.*)$/.exec(line);
    if (current && entry && (line.startsWith('    ') || !services.size)) {
      const [, key, value] = entry as unknown as [string, string, string];
      if (key === '<<') {
        for (const ref of value
          .replace(/[[\]]/g, '')
          .split(',')
          .map((s) => s.trim().replace(/^\*/, ''))) {
          for (const [k, v] of anchors.get(ref) ?? []) if (!current.has(k)) current.set(k, v);
        }
      } else if (!current.has(key) || section === 'services') {
        current.set(key, value.replace(/\s+#.*$/, '').replace(/^["']|["']$/g, ''));
      }
    }
  }
  return services;
}

function composeCli(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const r = spawnSync(cmd[0] as string, [...cmd.slice(1), 'version'], { encoding: 'utf8' });
    if (r.status === 0) return cmd;
  }
  return undefined;
}

const PROFILES = ['gateway', 'proxy', 'full', 'loadtest'];
const composeFile = join(ROOT, 'docker-compose.yml');
const rawCompose = readFileSync(composeFile, 'utf8');
const cli = composeCli();
const resolvedCompose = ((): string => {
  if (!cli) return rawCompose;
  const args = [...cli.slice(1), '-f', composeFile, ...PROFILES.flatMap((p) => ['--profile', p]), 'config'];
  const r = spawnSync(cli[0] as string, args, { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, `${cli.join(' ')} config failed: ${r.stderr}`);
  return r.stdout;
})();

/** Services that run the project's images (everything but k6). */
const LONG_RUNNING = ['gateway', 'app', 'nginx-proxy', 'gateway-full', 'nginx-full'];

/** "40s", "1m30s", "40" (seconds) -> seconds. */
function composeSeconds(value: string): number {
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)(h|m(?!s)|s|ms)?/g)) {
    total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[(m[2] ?? 's') as 'h' | 'm' | 's' | 'ms'];
  }
  return total;
}

const composeSource = cli ? `resolved by ${cli.join(' ')} config` : 'raw file, no compose CLI';
describe(`docker-compose.yml agrees with config/limits.json (${composeSource})`, () => {
  const services = composeServices(resolvedCompose);

  it('every long-running service has stop_grace_period = stopGracePeriodS >= shutdown delay + graceful timeout + 5 s', () => {
    // A stop is the shutdown delay (still serving, not ready), then the drain (up to the graceful
    // timeout), then the master's exit: a grace shorter than that would SIGKILL a drain.
    const needed = (limits.shutdownDelayS as number) + (limits.gracefulTimeoutS as number) + 5;
    assert.ok(
      (limits.stopGracePeriodS as number) >= needed,
      `stopGracePeriodS ${limits.stopGracePeriodS} < shutdownDelayS + gracefulTimeoutS + 5 = ${needed}`,
    );
    for (const name of LONG_RUNNING) {
      const service = services.get(name);
      assert.ok(service, `compose: no service ${name}`);
      const grace = service.get('stop_grace_period');
      assert.ok(grace, `compose: ${name} has no stop_grace_period`);
      assert.equal(composeSeconds(grace), limits.stopGracePeriodS, `compose: ${name} stop_grace_period ${grace}`);
    }
    // The app's own server (profile proxy) has the gateway's shutdown delay too (SHUTDOWN_DELAY);
    // the gateway services' is checked through --print-config below.
    const parsed = parseYaml(resolvedCompose) as { services: Record<string, { environment?: unknown }> };
    const env = parsed.services.app?.environment;
    // `config` of Compose v2 and 1.29 writes a map; the raw file too.
    const delay = env && !Array.isArray(env) ? (env as Record<string, unknown>).SHUTDOWN_DELAY : undefined;
    assert.equal(Number(delay), limits.shutdownDelayS, 'compose: app SHUTDOWN_DELAY');
  });

  it("the healthchecks restated in compose are the images' own (Dockerfile HEALTHCHECK)", () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const healthchecks = [...dockerfile.matchAll(/HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])/g)].map(
      (m) => JSON.parse(m[1] as string) as string[],
    );
    assert.equal(healthchecks.length, 2, 'Dockerfile: expected a HEALTHCHECK for the nginx and the runtime stage');
    for (const test of healthchecks) {
      const inCompose = rawCompose.includes(`test: ${JSON.stringify(['CMD', ...test]).replace(/","/g, '", "')}`);
      assert.ok(inCompose, `compose does not restate the Dockerfile healthcheck ${JSON.stringify(test)} verbatim`);
    }
  });
});

// ---- nginx as each compose service renders it ------------------------------------------

/** A compose service's environment (mapping or list form) as pairs, raw-file defaults resolved. */
function environmentOf(declared: unknown): Array<[string, string]> {
  const pairs = Array.isArray(declared)
    ? declared.map((e: string) => e.split(/=(.*)/s).slice(0, 2) as [string, string])
    : Object.entries((declared ?? {}) as Record<string, unknown>).map(
        ([k, v]) => [k, String(v ?? '')] as [string, string],
      );
  return pairs.map(([k, v]) => [k, rawDefault(v)]);
}

describe('nginx as the compose services render it agrees with config/limits.json', () => {
  const doc = parseYaml(resolvedCompose) as { services: Record<string, { environment?: unknown }> };
  for (const name of ['nginx-proxy', 'nginx-full']) {
    it(`${name}: client_max_body_size, timeouts and keep-alive with the service's NGINX_* environment`, () => {
      const vars: Record<string, string> = {};
      for (const [k, v] of environmentOf(doc.services[name]?.environment)) if (k.startsWith('NGINX_')) vars[k] = v;
      // What a deployment sets is passed through (so a .env file reaches nginx).
      for (const key of ['NGINX_SERVER_NAMES', 'NGINX_BACKEND', 'NGINX_RATE', 'NGINX_BODY_LIMIT'])
        assert.ok(key in vars, `compose: ${name} does not pass ${key}`);
      const tree = renderedNginx(vars);
      assert.equal(nginxBytes(single('client_max_body_size', undefined, tree)), limits.bodyLimitBytes);
      assert.equal(nginxSeconds(single('proxy_read_timeout', notInWebSocket, tree)), limits.proxyReadTimeoutS);
      assert.equal(nginxSeconds(single('keepalive_timeout', inUpstream, tree)), limits.nginxUpstreamKeepAliveTimeoutS);
      assert.equal(nginxSeconds(single('keepalive_timeout', notInUpstream, tree)), limits.clientKeepAliveTimeoutS);
    });
  }

  it("the body limit's default is bodyLimitBytes; NGINX_BODY_LIMIT overrides it, and the check sees that", () => {
    assert.equal(single('client_max_body_size'), '10m', 'bodyLimitBytes 10485760 renders in the unit nginx.conf used');
    const overridden = renderedNginx({ NGINX_BODY_LIMIT: '1k' });
    assert.equal(nginxBytes(single('client_max_body_size', undefined, overridden)), 1024);
  });
});

// ---- the gateway as each compose service runs it ------------------------------------

/** `--print-config` lines (`name = JSON`) as a map. */
function printedConfig(args: string[], env: Record<string, string>): Map<string, unknown> {
  const cli = join(ROOT, 'server/dist/cli.js');
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  assert.equal(r.status, 0, `gateway ${args.join(' ')}: ${r.stderr}`);
  const out = new Map<string, unknown>();
  for (const line of r.stdout.trim().split('\n')) {
    const eq = line.indexOf(' = ');
    out.set(line.slice(0, eq).trim(), JSON.parse(line.slice(eq + 3)));
  }
  return out;
}

/** The Dockerfile's ENV of the runtime stage (what every gateway container starts with). */
function dockerfileEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.indexOf(' AS runtime'));
  const env: Record<string, string> = {};
  for (const m of runtime.matchAll(/^ENV (.+)$/gm)) {
    for (const pair of (m[1] as string).trim().split(/\s+/)) {
      const [k, v] = pair.split('=');
      env[k as string] = v ?? '';
    }
  }
  return env;
}

// The gateway's defaults are read from limits.json, so comparing them with it would prove nothing.
// What can drift is a deployment that overrides them: an environment variable or a flag in the
// compose file or the image. So the check runs the real CLI with each service's command and
// environment, and compares what it would run with.
describe('the gateway as the compose services run it agrees with config/limits.json', () => {
  const doc = parseYaml(resolvedCompose) as { services: Record<string, { command?: string[]; environment?: unknown }> };
  for (const name of ['gateway', 'gateway-full']) {
    it(`${name}: timeout, graceful_timeout, keepalive, header_timeout, limit_request_body`, () => {
      const service = doc.services[name];
      assert.ok(service?.command, `compose: ${name} has no command`);
      const [node, cli, ...args] = service.command;
      assert.deepEqual([node, cli], ['node', 'server/dist/cli.js'], `compose: ${name} does not run the gateway CLI`);
      const env: Record<string, string> = { ...dockerfileEnv() };
      for (const [k, v] of environmentOf(service.environment)) env[k] = v;
      const config = printedConfig(['--print-config', ...args.map(rawDefault)], env);
      const expected: Record<string, number> = {
        timeout: limits.workerTimeoutS as number,
        graceful_timeout: limits.gracefulTimeoutS as number,
        keepalive: limits.gatewayKeepAliveTimeoutS as number,
        header_timeout: limits.clientHeaderTimeoutS as number,
        shutdown_delay: limits.shutdownDelayS as number,
        limit_request_body: limits.bodyLimitBytes as number,
      };
      for (const [setting, value] of Object.entries(expected)) {
        assert.equal(config.get(setting), value, `${name}: gateway ${setting} (from its command and environment)`);
      }
      // nginx's header buffers must hold any header line the gateway accepts.
      const fieldSize = config.get('limit_request_field_size') as number;
      const [, size] = single('large_client_header_buffers').split(' ');
      assert.ok(
        nginxBytes(size as string) >= fieldSize,
        `large_client_header_buffers ${size} < gateway limit_request_field_size ${fieldSize}`,
      );
    });
  }

  it('the check sees an override: a GATEWAY_KEEPALIVE in the environment changes what it reads', () => {
    const config = printedConfig(['--print-config', 'app/dist/app.js'], { GATEWAY_KEEPALIVE: '5' });
    assert.equal(config.get('keepalive'), 5);
  });
});

// deploy/swarm/stack.yml: what Swarm does with the same numbers (its YAML anchors merged).
describe('deploy/swarm/stack.yml agrees with config/limits.json and the images', () => {
  interface StackService {
    stop_grace_period?: string;
    environment?: Record<string, unknown>;
    healthcheck?: { test: string[] };
    deploy?: {
      endpoint_mode?: string;
      update_config?: { order?: string; failure_action?: string; parallelism?: number; delay?: string };
    };
  }
  const stack = parseYaml(readFileSync(join(ROOT, 'deploy/swarm/stack.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, StackService>;
  };
  const services = Object.entries(stack.services);

  it('every service has stop_grace_period = stopGracePeriodS; the backends the shutdown delay', () => {
    assert.deepEqual(
      services.map(([n]) => n),
      ['gateway', 'nginx-full', 'app', 'nginx-proxy'],
    );
    for (const [name, s] of services)
      assert.equal(
        composeSeconds(s.stop_grace_period ?? '0'),
        limits.stopGracePeriodS,
        `stack: ${name} stop_grace_period`,
      );
    assert.equal(Number(stack.services.gateway?.environment?.GATEWAY_SHUTDOWN_DELAY), limits.shutdownDelayS);
    assert.equal(Number(stack.services.app?.environment?.SHUTDOWN_DELAY), limits.shutdownDelayS);
  });

  it('the backends roll one at a time, start-first, rolled back on failure, found by DNS; nginx stop-first', () => {
    for (const name of ['gateway', 'app']) {
      const d = stack.services[name]?.deploy;
      assert.equal(d?.endpoint_mode, 'dnsrr', `${name}: dnsrr (no IPVS needed)`);
      assert.deepEqual(
        [d?.update_config?.parallelism, d?.update_config?.order, d?.update_config?.failure_action],
        [1, 'start-first', 'rollback'],
        name,
      );
      // The next task goes only once nginx has re-resolved the name (nginxResolveValidS).
      assert.ok(
        composeSeconds(d?.update_config?.delay ?? '0') > (limits.nginxResolveValidS as number),
        `${name}: update delay`,
      );
    }
    // A host-mode port is held by one container per node: a start-first nginx could never start.
    for (const name of ['nginx-full', 'nginx-proxy'])
      assert.equal(stack.services[name]?.deploy?.update_config?.order, 'stop-first', name);
  });

  it("the healthchecks are the images' own (Dockerfile HEALTHCHECK)", () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const healthchecks = [...dockerfile.matchAll(/HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])/g)].map((m) =>
      JSON.stringify(['CMD', ...(JSON.parse(m[1] as string) as string[])]),
    );
    for (const [name, s] of services)
      assert.ok(
        healthchecks.includes(JSON.stringify(s.healthcheck?.test)),
        `stack: ${name} healthcheck differs from the image's`,
      );
  });
});
