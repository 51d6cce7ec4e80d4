/**
 * The settings of the worker processes (how many, their limits and timeouts, how they stop): one
 * part of the one table in settings.ts, kept apart only for that file's length. Their order here is
 * their order in `--help` and docs/settings.md.
 */
import { defaultWorkers, spec, toBool, toInt, toOptionalSeconds, toSeconds } from './setting-spec.js';
import { limits } from './shared-limits.js';

/**
 * The boot timeout when none is set: max(timeout, this). Never shorter than timeout, which bounded
 * boots before boot_timeout existed (an app that booted then boots now); and long enough for a
 * slow import on a busy machine when timeout is short.
 */
export const DEFAULT_BOOT_TIMEOUT_S = 30;

/** The boot timeout in effect (resolveConfig fills it in; code given a Config by hand may not have). */
export function bootTimeoutS(config: { timeout: number; boot_timeout: number | null }): number {
  return config.boot_timeout ?? Math.max(config.timeout, DEFAULT_BOOT_TIMEOUT_S);
}

export const WORKER_SETTINGS = [
  spec({
    name: 'workers',
    section: 'Worker processes',
    flags: ['--workers', '-w'],
    kind: 'int',
    meta: 'INT',
    default: defaultWorkers,
    defaultText: '$WEB_CONCURRENCY, else the cgroup CPU quota rounded up, at most the CPUs available',
    validate: toInt(1, 1024),
    desc:
      'Worker processes. Each runs one event loop; more workers than cores only helps when the app blocks its loop. ' +
      "The default counts a container's CPU limit (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us`), not the host's " +
      'cores; `--print-config` says where the number came from (`workers_source`).',
  }),
  spec({
    name: 'worker_connections',
    section: 'Worker processes',
    flags: ['--worker-connections'],
    kind: 'int',
    meta: 'INT',
    // 5000, as nginx's 4096 in nginx/ is near: 10,000 slow clients (two workers) then fit without a
    // churn of shed and reopened connections, which cost normal clients 80% of their throughput at
    // 1000 (docs/reliability.md). A held connection cost the sample app's worker 11 kB (slowloris)
    // to 26 kB (slow body) of resident memory: 5000 of them 56–130 MB.
    default: 5000,
    validate: toInt(1),
    desc:
      'Open client connections one worker holds at most. From 80% of it on, the oldest connections that are not ' +
      'being served are closed (shed_connections); at the ceiling a newcomer is closed only when there is none.',
  }),
  spec({
    name: 'shed_connections',
    section: 'Worker processes',
    flags: ['--shed-connections'],
    kind: 'bool',
    default: true,
    defaultText: 'true',
    validate: toBool,
    desc:
      'From 80% of worker_connections on, close the oldest connections that hold a slot without being served (no complete ' +
      "request head yet; a body or a response moving under 500 bytes/s, Apache's MinRate; kept alive and idle) " +
      'instead of refusing the newcomer, as nginx reuses its idle connections. Never one whose request waits on the ' +
      'app, a WebSocket or an HTTP/2 connection. `--shed-connections=false`: refuse the newcomer, as Node does.',
  }),
  spec({
    name: 'max_connections_per_client',
    section: 'Worker processes',
    flags: ['--max-connections-per-client'],
    kind: 'int',
    meta: 'INT',
    default: 0,
    validate: toInt(0),
    desc:
      "Open connections one peer address holds on one worker at most (0: no bound), like nginx's limit_conn; " +
      'more are closed at accept. Peers in forwarded_allow_ips (and proxy_allow_ips with proxy_protocol) are ' +
      'exempt: a proxy carries many clients. Off by default: measured at 64 it refused a busy normal client and, ' +
      'since a refused attacker reconnects at once, did worse against one address than shedding alone.',
  }),
  spec({
    name: 'max_in_flight_per_client',
    section: 'Worker processes',
    flags: ['--max-in-flight-per-client'],
    kind: 'int',
    meta: 'INT',
    // 128: 10,000 slow readers from one address left normal clients 1–57% of their throughput, the
    // workers busy serving the attacker's 10,000 file requests at once; at 128 they kept 100%
    // (docs/reliability.md). A normal client of that run held up to 128 connections a worker.
    default: 128,
    validate: toInt(0),
    desc:
      "Requests of one peer address in a worker's app at once (0: no bound); the rest wait their turn, first " +
      'come first served, and one that waited `timeout` seconds gets 503. Other addresses never wait behind them. A ' +
      'response lasts until it is sent, so a client that never reads holds its share, not the worker. Peers in ' +
      'forwarded_allow_ips are exempt: a proxy carries many clients (set it for your load balancer).',
  }),
  spec({
    name: 'max_requests',
    section: 'Worker processes',
    flags: ['--max-requests'],
    kind: 'int',
    meta: 'INT',
    default: 0,
    validate: toInt(0),
    desc: 'Recycle a worker after this many requests (0: never). Its replacement is ready before it stops accepting.',
  }),
  spec({
    name: 'max_requests_jitter',
    section: 'Worker processes',
    flags: ['--max-requests-jitter'],
    kind: 'int',
    meta: 'INT',
    default: 0,
    validate: toInt(0),
    desc: "Add a random 0..N to each worker's max_requests so workers do not all recycle together.",
  }),
  spec({
    name: 'max_worker_memory',
    section: 'Worker processes',
    flags: ['--max-worker-memory'],
    kind: 'int',
    meta: 'MB',
    // On by default, far above what a worker needs: the sample app's worker peaked at 116 MB with 10
    // concurrent 1 MiB uploads and 500 open WebSockets; a leak, or a client that finds a way to make
    // a worker buffer, ends in a graceful recycle instead of the kernel's OOM killer.
    default: 1024,
    validate: toInt(0),
    desc:
      "Recycle a worker whose resident memory passes this many MiB (0: never), like PM2's max_memory_restart; the " +
      'replacement is ready before it stops. The default is a ceiling for a leak or a client that makes a worker ' +
      'buffer, about 9x the peak of the sample app under uploads and 500 WebSockets: set it from your own app.',
  }),
  spec({
    name: 'timeout',
    section: 'Worker processes',
    flags: ['--timeout', '-t'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: limits.workerTimeoutS,
    validate: toSeconds(1),
    desc:
      'A worker whose event loop has not beaten for this long is hung: the master sends SIGABRT, then SIGKILL, and ' +
      'replaces it. Booting is bounded by boot_timeout instead.',
  }),
  spec({
    name: 'boot_timeout',
    section: 'Worker processes',
    flags: ['--boot-timeout'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: null,
    defaultText: `max(timeout, ${DEFAULT_BOOT_TIMEOUT_S})`,
    validate: toOptionalSeconds(1),
    desc:
      'How long a worker may take from fork to ready (importing the app, a factory awaiting its database; its ' +
      'event loop may block meanwhile) before it is killed and forked again with the crash-loop backoff. Apart ' +
      'from timeout, so a short hung-worker timeout does not kill slow boots on a busy machine. At start only a ' +
      'worker that reports it cannot load the app (exit 4) or cannot boot (exit 3) stops the master.',
  }),
  spec({
    name: 'graceful_timeout',
    section: 'Worker processes',
    flags: ['--graceful-timeout'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: limits.gracefulTimeoutS,
    validate: toSeconds(0),
    desc: 'On stop, reload or recycle, how long in-flight requests may take before the worker is killed.',
  }),
  spec({
    name: 'shutdown_delay',
    section: 'Worker processes',
    flags: ['--shutdown-delay'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: 0,
    validate: toSeconds(0),
    desc:
      'On TERM, how long the gateway keeps accepting and serving with /readyz already 503, before it closes its ' +
      'listeners and drains (graceful_timeout): the time Kubernetes endpoints, Swarm or nginx need to stop ' +
      'sending it traffic. A second TERM ends the delay and starts the drain; INT or QUIT stop at once. 0 ' +
      "natively; the container configurations use config/limits.json's shutdownDelayS. A stop grace period " +
      'must cover shutdown_delay + graceful_timeout + a margin.',
  }),
] as const;
