// The topologies of the comparison as the project ships them: each compose
// profile (gateway, proxy, full) built from the project's own Dockerfile and run
// by `docker compose` (v2) or `docker-compose` (1.29), under its own project name
// and free host ports. The result is a Serving (harness/src/serving.ts) like a
// native topology's, so run.ts drives either through one interface.
//
// Same CPU budget as the native mode: a compose override file, generated in a
// temp dir (the committed docker-compose.yml is untouched), gives every service
// of the profile `cpuset: "1"`; the load generators stay on core 0 on the host.
// The same override gives nginx the three changes the native mode makes too: plain
// HTTP serves the site (NGINX_PLAIN_HTTP=site, the documented template variable),
// and a copy of nginx/templates/nginx.conf.template, mounted over the image's, with
// `access_log off` and `worker_processes 1`.
//
// CPU seconds come from each container's cgroup (harness/src/cgroup.ts).
//
// Clients reach the topology's entry container on its `front` network address
// (the host is on that bridge), not through the published 127.0.0.1 port: that
// port is carried by Docker's userland proxy (`docker-proxy`, a host process
// outside every container's cgroup and CPU set), which production traffic from
// other machines never passes (it is DNAT'ed in the kernel). The published port
// is still free and reported for a look (`curl 127.0.0.1:<port>`).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  baseImages,
  type ComposeStack,
  compose,
  composeCli,
  composeOrThrow,
  containerCpu,
  containerPids,
  dockerAnswers,
  freePort,
  httpStatus,
  imagePresent,
  onPath,
  ROOT,
  removeProject,
  type Serving,
  sh,
} from '@gw/harness';

// What loadtest/test/compare.test.ts checks of the compose mode, from where it lives now.
export { baseImages, cgroupCpuFiles, findCgroupCpuFile, parseCgroupCpu } from '@gw/harness';

export const COMPOSE_TOPOLOGIES = ['gateway', 'proxy', 'full'] as const;
/** Measured in compose mode when named: `full-uds` is profile full with docker-compose.uds.yml over it. */
export const COMPOSE_EXTRA_TOPOLOGIES = ['full-uds'] as const;
export type ComposeTopologyName = (typeof COMPOSE_TOPOLOGIES)[number] | (typeof COMPOSE_EXTRA_TOPOLOGIES)[number];
/** The profile a topology runs, and the override files over docker-compose.yml it adds. */
export const PROFILE: Record<ComposeTopologyName, { profile: string; files: string[] }> = {
  gateway: { profile: 'gateway', files: [] },
  proxy: { profile: 'proxy', files: [] },
  full: { profile: 'full', files: [] },
  'full-uds': { profile: 'full', files: ['docker-compose.uds.yml'] },
};
export const COMPOSE_PROJECT = process.env.COMPARE_COMPOSE_PROJECT ?? 'gwcompare';
/** Image names of the comparison (not the `local` tag a developer uses, nor the container test's). */
export const STACK_IMAGE = 'node-gateway-stack';
export const STACK_TAG = process.env.COMPARE_STACK_TAG ?? 'compare';
const STACK_ENV = { STACK_IMAGE, STACK_TAG };

/** Services of each profile; the first is the one clients talk to. */
export const SERVICES: Record<ComposeTopologyName, { entry: string; services: string[]; entryPort: number }> = {
  gateway: { entry: 'gateway', services: ['gateway'], entryPort: 8000 },
  proxy: { entry: 'nginx-proxy', services: ['nginx-proxy', 'app'], entryPort: 8080 },
  full: { entry: 'nginx-full', services: ['nginx-full', 'gateway-full'], entryPort: 8080 },
  'full-uds': { entry: 'nginx-full', services: ['nginx-full', 'gateway-full'], entryPort: 8080 },
};

/**
 * Why compose mode cannot run here, or undefined when it can: an engine answers,
 * a compose CLI exists, and the project's images are built or buildable (their
 * base images are present locally; pulling is not tried).
 */
export function composeUnavailable(): string | undefined {
  if (!onPath('docker')) return 'no docker CLI';
  if (!dockerAnswers()) return '`docker info` does not answer (no engine: .ci/docker-engine.sh starts one)';
  if (!composeCli()) return 'neither `docker compose` nor `docker-compose` answers';
  const built = imagePresent(`${STACK_IMAGE}:${STACK_TAG}`) && imagePresent(`${STACK_IMAGE}-nginx:${STACK_TAG}`);
  if (built) return undefined;
  const missing = baseImages().filter((i) => !imagePresent(i));
  if (missing.length) return `images not built and base images missing: ${missing.join(', ')} (.ci/base-images.sh)`;
  return undefined;
}

// ---- the override file ---------------------------------------------------------------

/** Where the nginx image has the template of nginx.conf (rendered at every start). */
export const NGINX_CONF_TEMPLATE = '/etc/nginx/templates/nginx.conf.template';

/**
 * A compose override (YAML; JSON is YAML) for one profile: every service pinned
 * to `cpus`, nginx given `nginxConf` read-only as its nginx.conf template, and
 * plain HTTP serving the site. Works with Compose v2 and 1.29 (`cpuset`,
 * `volumes` and `environment`, merged into the service's, are in both).
 */
export function overrideFile(name: ComposeTopologyName, cpus: string | undefined, nginxConf?: string): string {
  const services: Record<string, Record<string, unknown>> = {};
  for (const s of SERVICES[name].services) {
    services[s] = cpus === undefined ? {} : { cpuset: cpus };
    if (s.startsWith('nginx-') && nginxConf) {
      services[s]!.volumes = [`${nginxConf}:${NGINX_CONF_TEMPLATE}:ro`];
      services[s]!.environment = { NGINX_PLAIN_HTTP: 'site' };
    }
  }
  return `# generated by loadtest/compare/containers.ts for the ${name} profile\n${JSON.stringify({ services }, null, 2)}\n`;
}

/** nginx/templates/nginx.conf.template with the comparison's rewrites: access_log off, worker_processes 1. */
export function comparisonNginxConf(
  text: string,
  opts: { accessLog?: boolean | undefined; workerProcesses?: number | 'auto' | undefined } = {},
): string {
  // Directives only (anchored at the line start), never the comments that name them.
  const rewrites: Array<[RegExp, string]> = [];
  if (!opts.accessLog) rewrites.push([/^(\s*)access_log \/dev\/stdout json;/gm, '$1access_log off;']);
  if (opts.workerProcesses !== undefined)
    rewrites.push([/^(\s*)worker_processes auto;/gm, `$1worker_processes ${opts.workerProcesses};`]);
  for (const [re, to] of rewrites) {
    if (!text.match(re))
      throw new Error(`the nginx.conf template no longer contains ${re}: update loadtest/compare/containers.ts`);
    text = text.replace(re, to);
  }
  return text;
}

// ---- build, up, down -----------------------------------------------------------------

const shipped = (cli: string[], project: string, profile: string): ComposeStack => ({
  cli,
  project,
  files: [join(ROOT, 'docker-compose.yml')],
  profile,
  env: STACK_ENV,
});

/** Builds the Node and nginx images of every profile once (legacy builder). Returns the seconds it took. */
export function buildImages(project = COMPOSE_PROJECT): number {
  const cli = composeCli();
  if (!cli) throw new Error('no compose CLI');
  const t = Date.now();
  // One service per image: the gateway (Node, target runtime) and nginx-full (nginx).
  composeOrThrow(shipped(cli, project, 'gateway'), ['build', 'gateway'], 900_000);
  composeOrThrow(shipped(cli, project, 'full'), ['build', 'nginx-full'], 900_000);
  return (Date.now() - t) / 1000;
}

/** `down -v` of every profile of the project, then anything left with its label (containers, networks). */
export function downAll(project = COMPOSE_PROJECT): void {
  const cli = composeCli();
  removeProject(project, COMPOSE_TOPOLOGIES, cli ? shipped(cli, project, 'gateway') : undefined);
}

export interface ContainerTopologyOptions {
  workers?: number;
  /** cpuset of every container of the topology, e.g. '1'. */
  cpus?: string | undefined;
  nginxAccessLog?: boolean | undefined;
  nginxWorkers?: number | 'auto';
  project?: string;
}

/** A compose profile as a Serving: baseUrl names the entry service, `hosts` maps it to its front address. */
export interface ComposeTopology extends Serving {
  readonly name: ComposeTopologyName;
  /** The published host port (127.0.0.1), unused by the measurement. */
  readonly port: number;
  readonly containers: ReadonlyArray<{ id: string; name: string; cpuSource: string }>;
  stop(): Promise<void>;
}

interface Inspected {
  Id: string;
  Name: string;
  Config: { Labels: Record<string, string> };
  NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
  HostConfig: { CpusetCpus: string };
}

/** Waits (90 s at most) until every container is healthy, or running where it has no health check. */
async function healthy(stack: ComposeStack, ids: string[]): Promise<void> {
  // Docker's own health checks; nginx's first runs 10 s after start.
  const deadline = Date.now() + 90_000;
  const format = '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}';
  for (;;) {
    const states = sh('docker', ['inspect', '--format', format, ...ids])
      .stdout.split('\n')
      .filter(Boolean);
    if (states.length === ids.length && states.every((s) => / (healthy|running)$/.test(s))) return;
    if (states.some((s) => / (unhealthy|exited|dead)$/.test(s)) || Date.now() > deadline) {
      const logs = compose(stack, ['logs', '--tail', '30']).stdout.slice(-3000);
      throw new Error(`not healthy: ${states.join(', ')}\n${logs}`);
    }
    await sleep(1000);
  }
}

/**
 * `up -d` of one profile with free host ports, every service pinned to `cpus`;
 * waits until every container is healthy and the entry answers /healthz through
 * its front address. On failure everything is taken down again.
 */
export async function startComposeTopology(
  name: ComposeTopologyName,
  opts: ContainerTopologyOptions = {},
): Promise<ComposeTopology> {
  const cli = composeCli();
  if (!cli) throw new Error('no compose CLI');
  const workers = opts.workers ?? 2;
  const dir = mkdtempSync(join(tmpdir(), 'compare-compose-'));
  const files = [join(ROOT, 'docker-compose.yml'), ...PROFILE[name].files.map((f) => join(ROOT, f))];
  const oneCpu = opts.cpus !== undefined && /^\d+$/.test(opts.cpus);
  let nginxConf: string | undefined;
  if (SERVICES[name].entry !== 'gateway') {
    nginxConf = join(dir, 'nginx.conf.template');
    const shippedConf = readFileSync(join(ROOT, 'nginx/templates/nginx.conf.template'), 'utf8');
    const workerProcesses = opts.nginxWorkers ?? (oneCpu ? 1 : undefined);
    writeFileSync(nginxConf, comparisonNginxConf(shippedConf, { accessLog: opts.nginxAccessLog, workerProcesses }));
  }
  if (opts.cpus !== undefined || nginxConf) {
    const f = join(dir, 'docker-compose.compare.yml');
    writeFileSync(f, overrideFile(name, opts.cpus, nginxConf));
    files.push(f);
  }
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...STACK_ENV,
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
  const project = opts.project ?? COMPOSE_PROJECT;
  const stack: ComposeStack = { cli, project, files, profile: PROFILE[name].profile, env };
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
    await healthy(stack, ids);
    const info = JSON.parse(sh('docker', ['inspect', ...ids]).stdout) as Inspected[];
    const { entry, entryPort } = SERVICES[name];
    const entryInfo = info.find((c) => c.Config.Labels['com.docker.compose.service'] === entry);
    if (!entryInfo) throw new Error(`no ${entry} container`);
    const front = Object.entries(entryInfo.NetworkSettings.Networks).find(([n]) => n.endsWith('_front'))?.[1];
    if (!front?.IPAddress) throw new Error(`${entry} has no address on the front network`);
    const address = front.IPAddress;
    const wrong = info.filter((c) => opts.cpus !== undefined && c.HostConfig.CpusetCpus !== opts.cpus);
    if (wrong.length)
      throw new Error(`cpuset not applied: ${wrong.map((c) => `${c.Name}=${c.HostConfig.CpusetCpus}`).join(', ')}`);
    // The gateway answers any Host; nginx only the names in its server_name, the service name among them.
    const hostName = name === 'gateway' ? address : entry;
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = (await httpStatus(entryPort, '/healthz', { host: address, hostHeader: hostName })) === 200;
      if (!ok) await sleep(200);
    }
    if (!ok) throw new Error(`${entry} does not answer /healthz on ${address}:${entryPort}`);
    const counters = info.map((c) => ({ id: c.Id, name: c.Name.replace(/^\//, ''), cpu: containerCpu(c.Id) }));
    let stopped = false;
    return {
      name,
      baseUrl: `http://${hostName}:${entryPort}`,
      ...(hostName === address ? {} : { hosts: { [hostName]: address } }),
      port,
      containers: counters.map((c) => ({ id: c.id, name: c.name, cpuSource: c.cpu.source })),
      pids: () => counters.flatMap((c) => containerPids(c.id)),
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
