// The "Settings" of a comparison report: how the run was made, in words, from the
// options and the facts of the run (mode, tools, versions). Only prose lives here.
import { COMPOSE_PROJECT, COMPOSE_TOPOLOGIES } from './containers.ts';
import { h2Setting } from './h2.ts';
import type { Options } from './options.ts';
import type { ScenarioName } from './scenarios.ts';

export interface RunFacts {
  o: Options;
  scenarios: readonly ScenarioName[];
  hasWrk: boolean;
  hasTaskset: boolean;
  k6Version: string;
  /** Why this mode ('' when native was asked for). */
  modeWhy: string;
  /** Compose mode: its CLI, how long the images took to build, and whether some rows ran natively. */
  compose?: { cmd: string; buildS: number | null; anyNative: boolean };
}

const WS_MESSAGES = 100;
const WS_INTERVAL_MS = 20;

function common(f: RunFacts): Record<string, string> {
  const { o } = f;
  // An h2-only run (h2load, warmed up by its own windows) has none of the k6 and wrk lines.
  if (f.scenarios.every((s) => s === 'h2')) return h2Only(f);
  return {
    'warm-up': `${o.warmup}s of GET / per topology before anything is measured`,
    capacity: f.hasWrk
      ? `wrk -t1 -c${o.connections} on GET / for ${o.duration}s, on the load core: the most the topology serves on its ` +
        `one core (closed model). k6 is not used for this: it needs several times wrk's CPU per request and tops out ` +
        `near ${o.k6MaxRate} req/s on one core, below every Node topology's capacity`
      : `k6 capacity ramp 100 → ${o.maxRate} req/s over ${o.ramp}s; the knee is the offered rate when p95 passed ` +
        `${o.kneeP95} ms or k6's pool of 400 VUs ran out`,
    'latency steps':
      `k6 fixed-rate (open model) at ${o.fractions.join(', ')} × min(capacity, ${o.k6MaxRate} req/s that k6 can ` +
      `offer from one core), ${o.duration}s each: below every topology's knee`,
    'load generator':
      `k6 ${f.k6Version}, open model (arrival rate), on its own core; at high rates k6 itself may be the limit, ` +
      'which caps every topology alike',
    ...(f.scenarios.includes('tls')
      ? {
          tls:
            'the -tls topologies: gateway-tls = the gateway with --certfile/--keyfile; full-tls / proxy-tls = ' +
            "nginx's shipped 8443 server (includes/tls.conf: TLS 1.2/1.3, session cache, tickets off) in front, " +
            `plain HTTP behind it. One self-signed P-256 certificate for all. wrk -t1 -c${o.connections} for ` +
            `${o.duration}s (kept-alive), then churn.js at ${o.tlsRate} req/s: ${o.duration}s kept-alive, ` +
            `${o.duration}s with Connection: close. k6 speaks HTTP/1.1 to every topology (GODEBUG=http2client=0)`,
        }
      : {}),
    ...(f.scenarios.includes('h2') ? { h2: h2Setting(o) } : {}),
    ...(f.scenarios.includes('ws')
      ? {
          ws:
            `ws.js: ${o.wsConnections} VUs, each a WebSocket session of ${WS_MESSAGES} messages ${WS_INTERVAL_MS} ` +
            `ms apart (then a new session), for ${o.duration}s; rtt = send to echo; CPU per 1,000 echoes`,
        }
      : {}),
  };
}

function h2Only(f: RunFacts): Record<string, string> {
  const warm = f.k6Version && f.o.warmup > 0;
  return {
    ...(warm
      ? { 'warm-up': `${f.o.warmup}s of GET / per topology with k6 ${f.k6Version} before anything is measured` }
      : {}),
    h2: h2Setting(f.o),
  };
}

const nativeBudget = (o: Options) =>
  `every serving process of a topology pinned to CPU ${o.serverCpus} (taskset; children inherit): nginx master and ` +
  'worker, gateway master and workers, app processes, gunicorn master and workers. ' +
  `nginx's CPU is counted in its topology's CPU seconds. The load generators (k6, wrk, h2load) and the runner on CPU ${o.loadCpus}.`;
const NATIVE_CPU =
  'utime+stime from /proc/<pid>/stat of every serving process, sampled every 100 ms and integrated over ' +
  "each step's window; per 1,000 completed requests";

function composeSettings(f: RunFacts, c: NonNullable<RunFacts['compose']>): Record<string, string> {
  const { o } = f;
  const built = c.buildS === null ? '?' : `${c.buildS.toFixed(0)} s`;
  return {
    mode:
      `compose (${f.modeWhy}): each of ${COMPOSE_TOPOLOGIES.join(', ')} is its compose profile of ` +
      `docker-compose.yml, \`${c.cmd} -p ${COMPOSE_PROJECT} --profile <name> up -d\` with free host ports, waited ` +
      'for until every container is healthy, measured, then `down -v` (also on failure and Ctrl-C). The images are ' +
      `built once at the start (${built}, legacy builder) from this working tree. Native mode (the default, ` +
      '`npm run compare`) runs the same topologies as local processes: it needs no Docker, and it measures the ' +
      "servers alone; compose measures them as deployed (container networking, cgroups, Docker's health checks). " +
      'auto picks compose only where a Docker engine answers and the images are built or buildable. The images ' +
      "carry their own Node and nginx (see Machine and versions), which may differ from the host's that native " +
      'mode runs: compare figures across modes with that in mind.',
    'CPU budget':
      'every container of the topology (nginx, the gateway, each app replica) pinned to CPU ' +
      `${o.serverCpus} by a compose override file generated in a temp dir (\`cpuset: "${o.serverCpus}"\` per ` +
      "service; docker-compose.yml untouched; checked with docker inspect). The compose file's own `cpus` limits " +
      `stay (≥ 1 CPU each), so the cpuset is the budget. k6, wrk and the runner on CPU ${o.loadCpus} on the host.` +
      (c.anyNative ? ` Rows marked [native] ran as local processes: ${nativeBudget(o)}` : ''),
    'CPU seconds':
      "from each container's cgroup (cgroup v2 cpu.stat usage_usec, or v1 cpuacct.usage; the path read from " +
      '/proc/<container pid>/cgroup; `docker top` + /proc where neither exists), summed over every container of ' +
      "the topology, nginx included, sampled every 100 ms and integrated over each step's window; per 1,000 " +
      "completed requests. A cgroup counts everything in the container, including Docker's health check (a " +
      "`node -e` every 10 s in each Node container, a bash probe in nginx's) and nginx's upstream re-resolve loop " +
      '(every 5 s): the "idle" line below is that background per second.' +
      (c.anyNative ? ` [native] rows: ${NATIVE_CPU}.` : ''),
    'client path':
      "k6 and wrk connect to the entry container's address on the project's `front` bridge network (Host: the " +
      "compose service name, which nginx's server_name accepts), not to the port published on 127.0.0.1. " +
      'Published ports on loopback are carried by `docker-proxy`, a userland process on the host, outside the ' +
      "containers' cgroups and CPU set, that copies every byte once more; traffic from other machines is forwarded " +
      'by the kernel (iptables DNAT) and never passes it. Going by the bridge address keeps that extra hop, and its ' +
      'CPU, out of both the latency and the CPU figures, as production sees it; the bridge and veth cost itself is ' +
      'real and included in latency (the part in softirq on the server core is in no cgroup).',
    workers:
      `${o.workers}: WEB_CONCURRENCY (gateway workers, gateway and full), APP_REPLICAS (app containers of one ` +
      'process each behind nginx, proxy); nginx worker_processes 1 (one per core of the budget)',
    'nginx config':
      'nginx/templates/ as shipped, rendered by the image with the defaults and three changes, the same as native ' +
      'mode: plain HTTP on 8080 serves the site (NGINX_PLAIN_HTTP=site in the override file, in place of the ' +
      'redirect to HTTPS: this compares plain HTTP), and a copy of the nginx.conf template mounted read-only over ' +
      "the image's with worker_processes 1" +
      (o.nginxAccessLog ? '' : ', access_log off (the gateway logs no requests by default either)') +
      '; /api/ is rate-limited there (50 r/s per client), so no scenario here loads /api/',
  };
}

function nativeSettings(f: RunFacts): Record<string, string> {
  const { o } = f;
  return {
    ...(f.modeWhy ? { mode: `native (${f.modeWhy})` } : {}),
    'CPU budget': f.hasTaskset ? nativeBudget(o) : 'taskset not available: processes not pinned',
    workers:
      `${o.workers} (gateway workers, gunicorn sync workers, app processes behind nginx in proxy); nginx ` +
      'worker_processes 1 (one per core of the budget)',
    'nginx config':
      'nginx/templates/ as shipped, rendered with the defaults (NGINX_PLAIN_HTTP=site: plain HTTP serves the site), ' +
      'then rewritten only for listen/upstream/paths' +
      (o.nginxAccessLog ? '' : ', and access_log off (the gateway and gunicorn log no requests by default either)') +
      '; /api/ is rate-limited there (50 r/s per client), so no scenario here loads /api/',
    'CPU seconds': NATIVE_CPU,
  };
}

/** The report's settings, in the order it lists them. */
export function runSettings(f: RunFacts): Record<string, string> {
  return { ...(f.compose ? composeSettings(f, f.compose) : nativeSettings(f)), ...common(f) };
}
