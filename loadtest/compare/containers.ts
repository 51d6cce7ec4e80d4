// The topologies of the comparison as the project ships them: each compose
// profile (gateway, proxy, full) built from the project's own Dockerfile and run
// by `docker compose` (v2) or `docker-compose` (1.29), under its own project name
// and free host ports. The result has the same shape as a native topology
// (topologies.ts): name, baseUrl, cpuSeconds(), stop(), so run.ts drives either
// through one interface.
//
// Same CPU budget as the native mode: a compose override file, generated in a
// temp dir (the committed docker-compose.yml is untouched), gives every service
// of the profile `cpuset: "1"`; the load generators stay on core 0 on the host.
// The same override mounts a copy of nginx/nginx.conf with the three rewrites the
// native mode makes too: plain HTTP serves the site (the documented swap of
// `redirect-to-https.conf` for `site.conf`), `access_log off`, `worker_processes 1`.
//
// CPU seconds come from each container's cgroup (every process in it, including
// Docker's health-check execs): cgroup v2 `cpu.stat` usage_usec, or cgroup v1
// `cpuacct.usage` (ns). The path is read from /proc/<container's pid>/cgroup,
// then looked for under /sys/fs/cgroup; when none of that exists, the
// container's processes (`docker top`) are counted from /proc (procstat.ts).
//
// Clients reach the topology's entry container on its `front` network address
// (the host is on that bridge), not through the published 127.0.0.1 port: that
// port is carried by Docker's userland proxy (`docker-proxy`, a host process
// outside every container's cgroup and CPU set), which production traffic from
// other machines never passes (it is DNAT'ed in the kernel). The published port
// is still free and reported for a look (`curl 127.0.0.1:<port>`).
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './native-nginx.ts';
import { cpuCounter } from './procstat.ts';
import { ROOT } from './topologies.ts';

export const COMPOSE_TOPOLOGIES = ['gateway', 'proxy', 'full'] as const;
export type ComposeTopologyName = (typeof COMPOSE_TOPOLOGIES)[number];
export const COMPOSE_PROJECT = process.env.COMPARE_COMPOSE_PROJECT ?? 'gwcompare';
/** Image names of the comparison (not the `local` tag a developer uses, nor the container test's). */
export const STACK_IMAGE = 'node-gateway-stack';
export const STACK_TAG = process.env.COMPARE_STACK_TAG ?? 'compare';

/** Services of each profile; the first is the one clients talk to. */
export const SERVICES: Record<ComposeTopologyName, { entry: string; services: string[]; entryPort: number }> = {
  gateway: { entry: 'gateway', services: ['gateway'], entryPort: 8000 },
  proxy: { entry: 'nginx-proxy', services: ['nginx-proxy', 'app'], entryPort: 8080 },
  full: { entry: 'nginx-full', services: ['nginx-full', 'gateway-full'], entryPort: 8080 },
};

// The legacy builder: Compose 1.29 uses it anyway, and a docker CLI without the
// buildx plugin cannot build with BuildKit.
const ENV: NodeJS.ProcessEnv = {
  ...process.env,
  DOCKER_BUILDKIT: '0',
  COMPOSE_DOCKER_CLI_BUILD: '0',
  STACK_IMAGE,
  STACK_TAG,
};

function sh(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...ENV, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

// ---- what is available ---------------------------------------------------------------

/** The compose CLI: COMPOSE_CLI, else `docker compose` (v2), else `docker-compose` (1.29); undefined when neither answers. */
export function composeCli(): string[] | undefined {
  const wanted = process.env.COMPOSE_CLI?.split(' ').filter(Boolean);
  const candidates = wanted ? [wanted] : [['docker', 'compose'], ['docker-compose']];
  return candidates.find((c) => sh(c[0]!, [...c.slice(1), 'version'], { timeoutMs: 20_000 }).status === 0);
}

export function dockerAnswers(): boolean {
  return sh('docker', ['info'], { timeoutMs: 30_000 }).status === 0;
}

/** The `FROM` images of the Dockerfile (base images a build needs). */
export function baseImages(dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')): string[] {
  const stages = new Set<string>();
  const out: string[] = [];
  for (const m of dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    if (!stages.has(m[1]!) && !out.includes(m[1]!)) out.push(m[1]!);
    if (m[2]) stages.add(m[2]);
  }
  return out;
}

const imagePresent = (ref: string): boolean =>
  sh('docker', ['image', 'inspect', ref], { timeoutMs: 20_000 }).status === 0;

/**
 * Why compose mode cannot run here, or undefined when it can: an engine answers,
 * a compose CLI exists, and the project's images are built or buildable (their
 * base images are present locally; pulling is not tried).
 */
export function composeUnavailable(): string | undefined {
  if (spawnSync('sh', ['-c', 'command -v docker'], { stdio: 'ignore' }).status !== 0) return 'no docker CLI';
  if (!dockerAnswers()) return '`docker info` does not answer (no engine: .ci/docker-engine.sh starts one)';
  if (!composeCli()) return 'neither `docker compose` nor `docker-compose` answers';
  const built = imagePresent(`${STACK_IMAGE}:${STACK_TAG}`) && imagePresent(`${STACK_IMAGE}-nginx:${STACK_TAG}`);
  if (built) return undefined;
  const missing = baseImages().filter((i) => !imagePresent(i));
  if (missing.length) return `images not built and base images missing: ${missing.join(', ')} (.ci/base-images.sh)`;
  return undefined;
}

// ---- the override file ---------------------------------------------------------------

/**
 * A compose override (YAML; JSON is YAML) for one profile: every service pinned
 * to `cpus`, nginx given `nginxConf` read-only. Works with Compose v2 and 1.29
 * (`cpuset` and `volumes` are in both).
 */
export function overrideFile(name: ComposeTopologyName, cpus: string | undefined, nginxConf?: string): string {
  const services: Record<string, Record<string, unknown>> = {};
  for (const s of SERVICES[name].services) {
    services[s] = cpus === undefined ? {} : { cpuset: cpus };
    if (s.startsWith('nginx-') && nginxConf) services[s]!.volumes = [`${nginxConf}:/etc/nginx/nginx.conf:ro`];
  }
  return `# generated by loadtest/compare/containers.ts for the ${name} profile\n${JSON.stringify({ services }, null, 2)}\n`;
}

/** nginx/nginx.conf with the comparison's rewrites: plain HTTP serves the site, access_log off, worker_processes 1. */
export function comparisonNginxConf(
  text: string,
  opts: { accessLog?: boolean | undefined; workerProcesses?: number | 'auto' | undefined } = {},
): string {
  // Directives only (anchored at the line start), never the comments that name them.
  const rewrites: Array<[RegExp, string]> = [
    [/^(\s*)include includes\/redirect-to-https\.conf;/gm, '$1include includes/site.conf;'],
  ];
  if (!opts.accessLog) rewrites.push([/^(\s*)access_log \/dev\/stdout json;/gm, '$1access_log off;']);
  if (opts.workerProcesses !== undefined)
    rewrites.push([/^(\s*)worker_processes auto;/gm, `$1worker_processes ${opts.workerProcesses};`]);
  for (const [re, to] of rewrites) {
    if (!text.match(re))
      throw new Error(`nginx/nginx.conf no longer contains ${re}: update loadtest/compare/containers.ts`);
    text = text.replace(re, to);
  }
  return text;
}

// ---- CPU from cgroups ----------------------------------------------------------------

/**
 * Candidate CPU accounting files of a container, best first: from its
 * /proc/<pid>/cgroup text (v2 `0::/path`, v1 `N:…cpuacct…:/path`), then the
 * usual places of the systemd and cgroupfs drivers.
 */
export function cgroupCpuFiles(procCgroup: string, id: string, root = '/sys/fs/cgroup'): string[] {
  const out: string[] = [];
  for (const line of procCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line.trim());
    if (!m) continue;
    const [, , controllers, path] = m;
    if (controllers === '' && path !== '/') out.push(`${root}${path}/cpu.stat`, `${root}/unified${path}/cpu.stat`);
    else if (controllers!.split(',').includes('cpuacct') && path !== '/') {
      out.push(
        `${root}/${controllers}${path}/cpuacct.usage`,
        `${root}/cpuacct${path}/cpuacct.usage`,
        `${root}/cpu,cpuacct${path}/cpuacct.usage`,
      );
    }
  }
  out.push(
    `${root}/system.slice/docker-${id}.scope/cpu.stat`,
    `${root}/docker/${id}/cpu.stat`,
    `${root}/cpuacct/docker/${id}/cpuacct.usage`,
    `${root}/cpu,cpuacct/docker/${id}/cpuacct.usage`,
    `${root}/cpuacct/system.slice/docker-${id}.scope/cpuacct.usage`,
    `${root}/cpu,cpuacct/system.slice/docker-${id}.scope/cpuacct.usage`,
  );
  return [...new Set(out)];
}

/** CPU seconds in a cgroup accounting file's text: `cpu.stat` (usage_usec) or `cpuacct.usage` (ns). */
export function parseCgroupCpu(file: string, text: string): number {
  if (file.endsWith('cpu.stat')) {
    const m = /^usage_usec (\d+)$/m.exec(text);
    if (!m) throw new Error(`${file}: no usage_usec`);
    return Number(m[1]) / 1e6;
  }
  const n = Number(text.trim());
  if (!Number.isFinite(n)) throw new Error(`${file}: not a number`);
  return n / 1e9;
}

/** The first candidate that exists and parses, or undefined. */
export function findCgroupCpuFile(
  candidates: string[],
  read: (f: string) => string | undefined = (f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  },
): string | undefined {
  for (const f of candidates) {
    const text = read(f);
    if (text === undefined) continue;
    try {
      parseCgroupCpu(f, text);
      return f;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** A container's cumulative CPU seconds: its cgroup file, or its processes from /proc. */
function containerCpu(id: string): { source: string; read(): number } {
  const pid = sh('docker', ['inspect', '--format', '{{.State.Pid}}', id]).stdout.trim();
  let procCgroup = '';
  try {
    procCgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    /* not visible */
  }
  const file = findCgroupCpuFile(cgroupCpuFiles(procCgroup, id));
  if (file) {
    let last = 0;
    return {
      source: file,
      read: () => {
        try {
          last = parseCgroupCpu(file, readFileSync(file, 'utf8'));
        } catch {
          /* removed */
        }
        return last;
      },
    };
  }
  // `docker top` lists host pids (the PID column); processes born later (health
  // checks) are found by re-listing.
  const pids = (): number[] => {
    const out = sh('docker', ['top', id, '-eo', 'pid'], { timeoutMs: 10_000 }).stdout;
    return out
      .split('\n')
      .slice(1)
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  };
  let cache = pids();
  let at = Date.now();
  const counter = cpuCounter(() => {
    if (Date.now() - at > 2000) {
      cache = pids();
      at = Date.now();
    }
    return cache;
  });
  return { source: 'docker top + /proc', read: counter };
}

// ---- up, down ------------------------------------------------------------------------

export interface ComposeStack {
  cli: string[];
  project: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  files: string[];
  profile: ComposeTopologyName;
}

function compose(stack: ComposeStack, args: string[], timeoutMs = 180_000): SpawnSyncReturns<string> {
  return sh(
    stack.cli[0]!,
    [
      ...stack.cli.slice(1),
      ...stack.files.flatMap((f) => ['-f', f]),
      '-p',
      stack.project,
      '--profile',
      stack.profile,
      ...args,
    ],
    { env: stack.env, timeoutMs },
  );
}

function composeOrThrow(stack: ComposeStack, args: string[], timeoutMs?: number): string {
  const r = compose(stack, args, timeoutMs);
  if (r.status !== 0)
    throw new Error(
      `compose ${args.join(' ')} exited ${r.status}${r.error ? ` (${r.error.message})` : ''}:\n${(r.stderr ?? '').slice(-3000)}`,
    );
  return r.stdout;
}

/** Builds the Node and nginx images of every profile once (legacy builder). Returns the seconds it took. */
export function buildImages(project = COMPOSE_PROJECT): number {
  const cli = composeCli();
  if (!cli) throw new Error('no compose CLI');
  const t = Date.now();
  const stack: ComposeStack = {
    cli,
    project,
    dir: ROOT,
    env: {},
    files: [join(ROOT, 'docker-compose.yml')],
    profile: 'gateway',
  };
  // One service per image: the gateway (Node, target runtime) and nginx-full (nginx).
  for (const [profile, service] of [
    ['gateway', 'gateway'],
    ['full', 'nginx-full'],
  ] as const) {
    composeOrThrow({ ...stack, profile }, ['build', service], 900_000);
  }
  return (Date.now() - t) / 1000;
}

/** Every container of the project, running or not (ids). */
function projectContainers(project: string): string[] {
  return sh('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])
    .stdout.split('\n')
    .filter(Boolean);
}

/** `down -v` of every profile of the project, then anything left with its label (containers, networks). */
export function downAll(project = COMPOSE_PROJECT): void {
  const cli = composeCli();
  if (cli) {
    for (const profile of COMPOSE_TOPOLOGIES) {
      compose({ cli, project, dir: ROOT, env: {}, files: [join(ROOT, 'docker-compose.yml')], profile }, [
        'down',
        '-v',
        '--remove-orphans',
        '--timeout',
        '10',
      ]);
    }
  }
  const left = projectContainers(project);
  if (left.length) sh('docker', ['rm', '-f', '-v', ...left]);
  const nets = sh('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`])
    .stdout.split('\n')
    .filter(Boolean);
  if (nets.length) sh('docker', ['network', 'rm', ...nets]);
}

function get(host: string, port: number, path: string, hostHeader: string): Promise<number> {
  return new Promise((r) => {
    const req = http.get({ host, port, path, agent: false, headers: { host: hostHeader } }, (res) => {
      res.resume();
      res.on('end', () => r(res.statusCode ?? 0));
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => r(0));
  });
}

export interface ContainerTopologyOptions {
  workers?: number;
  /** cpuset of every container of the topology, e.g. '1'. */
  cpus?: string | undefined;
  nginxAccessLog?: boolean;
  nginxWorkers?: number | 'auto';
  project?: string;
}

export interface ContainerTopology {
  name: ComposeTopologyName;
  baseUrl: string;
  /** The front-network address clients use, and the name sent as Host (one nginx's server_name accepts). */
  address: string;
  hostName: string;
  /** The published host port (127.0.0.1), unused by the measurement. */
  port: number;
  containers: Array<{ id: string; name: string; cpuSource: string }>;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/**
 * `up -d` of one profile with free host ports, every service pinned to `cpus`;
 * waits until every container is healthy and the entry answers /healthz through
 * its front address. On failure everything is taken down again.
 */
export async function startComposeTopology(
  name: ComposeTopologyName,
  opts: ContainerTopologyOptions = {},
): Promise<ContainerTopology> {
  const cli = composeCli();
  if (!cli) throw new Error('no compose CLI');
  const project = opts.project ?? COMPOSE_PROJECT;
  const workers = opts.workers ?? 2;
  const dir = mkdtempSync(join(tmpdir(), 'compare-compose-'));
  const files = [join(ROOT, 'docker-compose.yml')];
  const oneCpu = opts.cpus !== undefined && /^\d+$/.test(opts.cpus);
  const nginxWorkers = opts.nginxWorkers ?? (oneCpu ? 1 : undefined);
  let nginxConf: string | undefined;
  if (name !== 'gateway') {
    nginxConf = join(dir, 'nginx.conf');
    writeFileSync(
      nginxConf,
      comparisonNginxConf(readFileSync(join(ROOT, 'nginx/nginx.conf'), 'utf8'), {
        accessLog: opts.nginxAccessLog,
        workerProcesses: nginxWorkers,
      }),
    );
  }
  if (opts.cpus !== undefined || nginxConf) {
    const f = join(dir, 'docker-compose.compare.yml');
    writeFileSync(f, overrideFile(name, opts.cpus, nginxConf));
    files.push(f);
  }
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    HOST_BIND: '127.0.0.1',
    WEB_CONCURRENCY: String(workers),
    APP_REPLICAS: String(workers),
    HOST_PORT_GATEWAY: String(port),
    HOST_PORT_PROXY: String(port),
    HOST_PORT_FULL: String(port),
    HOST_PORT_PROXY_TLS: String(await freePort()),
    HOST_PORT_FULL_TLS: String(await freePort()),
    GATEWAY_CERTFILE: '',
    GATEWAY_KEYFILE: '',
  };
  const stack: ComposeStack = { cli, project, dir, env, files, profile: name };
  const down = (): void => {
    compose(stack, ['down', '-v', '--remove-orphans', '--timeout', '10']);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    composeOrThrow(stack, ['up', '-d', '--no-build'], 300_000);
    const ids = composeOrThrow(stack, ['ps', '-q'])
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    const expected = SERVICES[name].services.reduce((n, s) => n + (s === 'app' ? workers : 1), 0);
    if (ids.length !== expected) throw new Error(`expected ${expected} containers, compose ps lists ${ids.length}`);
    // Healthy (Docker's own health checks; nginx's first runs 10 s after start).
    const deadline = Date.now() + 90_000;
    let states: string[] = [];
    for (;;) {
      const r = sh('docker', [
        'inspect',
        '--format',
        '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}',
        ...ids,
      ]);
      states = r.stdout.split('\n').filter(Boolean);
      if (states.length === ids.length && states.every((s) => / (healthy|running)$/.test(s))) break;
      if (states.some((s) => / (unhealthy|exited|dead)$/.test(s)) || Date.now() > deadline) {
        throw new Error(
          `not healthy: ${states.join(', ')}\n${compose(stack, ['logs', '--tail', '30']).stdout.slice(-3000)}`,
        );
      }
      await sleep(1000);
    }
    const info = JSON.parse(sh('docker', ['inspect', ...ids]).stdout) as Array<{
      Id: string;
      Name: string;
      Config: { Labels: Record<string, string> };
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
      HostConfig: { CpusetCpus: string };
    }>;
    const entry = info.find((c) => c.Config.Labels['com.docker.compose.service'] === SERVICES[name].entry);
    if (!entry) throw new Error(`no ${SERVICES[name].entry} container`);
    const front = Object.entries(entry.NetworkSettings.Networks).find(([n]) => n.endsWith('_front'))?.[1]?.IPAddress;
    if (!front) throw new Error(`${SERVICES[name].entry} has no address on the front network`);
    if (opts.cpus !== undefined) {
      const wrong = info.filter((c) => c.HostConfig.CpusetCpus !== opts.cpus);
      if (wrong.length)
        throw new Error(`cpuset not applied: ${wrong.map((c) => `${c.Name}=${c.HostConfig.CpusetCpus}`).join(', ')}`);
    }
    const hostName = name === 'gateway' ? front : SERVICES[name].entry;
    const entryPort = SERVICES[name].entryPort;
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = (await get(front, entryPort, '/healthz', hostName)) === 200;
      if (!ok) await sleep(200);
    }
    if (!ok) throw new Error(`${SERVICES[name].entry} does not answer /healthz on ${front}:${entryPort}`);
    const counters = info.map((c) => ({ id: c.Id, name: c.Name.replace(/^\//, ''), cpu: containerCpu(c.Id) }));
    let stopped = false;
    return {
      name,
      address: front,
      hostName,
      port,
      baseUrl: `http://${hostName}:${entryPort}`,
      containers: counters.map((c) => ({ id: c.id, name: c.name, cpuSource: c.cpu.source })),
      cpuSeconds: () => counters.reduce((a, c) => a + c.cpu.read(), 0),
      async stop() {
        if (!stopped) {
          stopped = true;
          down();
        }
      },
    };
  } catch (error) {
    down();
    throw error;
  }
}

/** A k6 config file mapping the topology's Host name to its front address (k6's `hosts` option). */
export function k6HostsConfig(topo: { hostName: string; address: string }, dir: string): string | undefined {
  if (topo.hostName === topo.address) return undefined;
  const f = join(dir, `k6-hosts-${topo.hostName}.json`);
  writeFileSync(f, `${JSON.stringify({ hosts: { [topo.hostName]: topo.address } })}\n`);
  return f;
}
