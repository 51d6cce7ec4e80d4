/**
 * Every setting of the gateway, declared once: name, CLI flags, environment variable, validator,
 * default and description. The CLI parser, the environment mapping, `--print-config`, `--help`
 * and docs/settings.md are all derived from this list (Gunicorn's config.py pattern).
 */
import { availableParallelism } from 'node:os';
import { limits } from '@gw/limits';
import { type Bind, parseBind } from './binds.js';
import { parseCidrList } from './forwarded.js';

type Kind = 'int' | 'seconds' | 'string' | 'bool' | 'list';

interface SettingSpec<T> {
  /** snake_case, as in Gunicorn; also the key in a config file. */
  name: string;
  section:
    | 'Server socket'
    | 'Worker processes'
    | 'Security'
    | 'Logging'
    | 'Metrics'
    | 'Server mechanics'
    | 'SSL'
    | 'Config';
  /** CLI flags: long first, then the short one if any. */
  flags: string[];
  kind: Kind;
  /** Placeholder shown in --help and the docs. */
  meta?: string;
  default: T | (() => T);
  /** Shown in the docs instead of the computed default. */
  defaultText?: string;
  /** Turns a raw string (CLI/env) or a config-file value into the typed value, or throws. */
  validate: (raw: unknown) => T;
  desc: string;
  /** Settings that only make sense on the command line (no env, no config file). */
  cliOnly?: boolean;
}

function fail(why: string): never {
  throw new TypeError(why);
}

function toInt(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: unknown): number => {
    const s =
      typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : fail('expected an integer');
    if (!/^-?\d+$/.test(s)) fail('expected an integer');
    const n = Number(s);
    if (n < min || n > max)
      fail(max === Number.MAX_SAFE_INTEGER ? `must be >= ${min}` : `must be between ${min} and ${max}`);
    return n;
  };
}

/** Seconds may be fractional (0.5) like Gunicorn's timeouts; stored as seconds. */
function toSeconds(min: number) {
  return (raw: unknown): number => {
    const s =
      typeof raw === 'number'
        ? String(raw)
        : typeof raw === 'string'
          ? raw.trim()
          : fail('expected a number of seconds');
    if (!/^\d+(\.\d+)?$/.test(s)) fail('expected a number of seconds');
    const n = Number(s);
    if (n < min) fail(`must be >= ${min}`);
    return n;
  };
}

function toBool(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const s = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  }
  return fail('expected true or false');
}

function toOptionalString(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'string') fail('expected a string');
  return raw.trim() === '' ? null : raw;
}

function toList(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw === 'string')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return fail('expected a comma-separated list');
}

function toBinds(raw: unknown): Bind[] {
  const items = Array.isArray(raw)
    ? raw.map(String)
    : typeof raw === 'string'
      ? raw.split(/[\s,]+/).filter(Boolean)
      : fail('expected HOST:PORT or unix:PATH');
  if (items.length === 0) fail('at least one address is needed');
  return items.map(parseBind);
}

function toOctalMode(raw: unknown): number {
  const s =
    typeof raw === 'number'
      ? raw.toString(8)
      : typeof raw === 'string'
        ? raw.trim()
        : fail('expected an octal mode like 660');
  if (!/^0?[0-7]{3}$/.test(s)) fail('expected an octal mode like 660');
  return parseInt(s, 8);
}

function toLevel(raw: unknown): string {
  const levels = ['debug', 'info', 'warning', 'error', 'critical'];
  const s = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (!levels.includes(s)) fail(`expected one of ${levels.join(', ')}`);
  return s;
}

function defaultBind(): Bind[] {
  // Like Gunicorn: a platform that sets $PORT wants the server on every interface at that port.
  const port = process.env.PORT;
  return [fromEnv('PORT', port, (v) => parseBind(v ? `0.0.0.0:${v}` : '127.0.0.1:8000'))];
}

function defaultWorkers(): number {
  const raw = process.env.WEB_CONCURRENCY;
  if (raw !== undefined && raw !== '') return fromEnv('WEB_CONCURRENCY', raw, toInt(1, 1024));
  return availableParallelism();
}

/** A default computed from the environment names the variable and its value when it is bad. */
function fromEnv<T>(name: string, raw: string | undefined, parse: (raw: string) => T): T {
  try {
    return parse(raw ?? '');
  } catch (err) {
    throw new TypeError(`${name}=${JSON.stringify(raw)}: ${(err as Error).message}`);
  }
}

function spec<T>(s: SettingSpec<T>): SettingSpec<T> {
  return s;
}

export const SETTINGS = [
  spec({
    name: 'config',
    section: 'Config',
    flags: ['--config', '-c'],
    kind: 'string',
    meta: 'FILE',
    default: null,
    validate: toOptionalString,
    desc: 'A config file: JSON, or an ES module whose default export is an object. Keys are setting names (`max_requests`). Command line beats environment beats this file beats defaults.',
  }),
  spec({
    name: 'check_config',
    section: 'Config',
    flags: ['--check-config'],
    kind: 'bool',
    default: false,
    validate: toBool,
    cliOnly: true,
    desc: 'Validate the configuration, import the app and check that it fits the contract, then exit (0 when good).',
  }),
  spec({
    name: 'print_config',
    section: 'Config',
    flags: ['--print-config'],
    kind: 'bool',
    default: false,
    validate: toBool,
    cliOnly: true,
    desc: 'Print the effective configuration, one `name = value` a line, then exit.',
  }),
  spec({
    name: 'bind',
    section: 'Server socket',
    flags: ['--bind', '-b'],
    kind: 'list',
    meta: 'ADDRESS',
    default: defaultBind,
    defaultText: "['127.0.0.1:8000'] (or ['0.0.0.0:$PORT'] when PORT is set)",
    validate: toBinds,
    desc: 'Where to listen: `HOST:PORT`, `[IPV6]:PORT` or `unix:PATH`. Repeat the flag (or comma-separate) to listen on several. Bound once at start: a HUP reload keeps the addresses (and says so if the configuration changed them).',
  }),
  spec({
    name: 'backlog',
    section: 'Server socket',
    flags: ['--backlog'],
    kind: 'int',
    meta: 'INT',
    default: 2048,
    validate: toInt(1, 65535),
    desc: 'Pending connections the kernel queues per listening socket.',
  }),
  spec({
    name: 'unix_socket_mode',
    section: 'Server socket',
    flags: ['--unix-socket-mode'],
    kind: 'string',
    meta: 'MODE',
    default: 0o660,
    defaultText: '660',
    validate: toOctalMode,
    desc: 'File mode of `unix:` sockets (octal). 660 lets the owning group (say, nginx) connect and nobody else.',
  }),
  spec({
    name: 'workers',
    section: 'Worker processes',
    flags: ['--workers', '-w'],
    kind: 'int',
    meta: 'INT',
    default: defaultWorkers,
    defaultText: '$WEB_CONCURRENCY, else the number of CPUs',
    validate: toInt(1, 1024),
    desc: 'Worker processes. Each runs one event loop; more workers than cores only helps when the app blocks its loop.',
  }),
  spec({
    name: 'worker_connections',
    section: 'Worker processes',
    flags: ['--worker-connections'],
    kind: 'int',
    meta: 'INT',
    default: 1000,
    validate: toInt(1),
    desc: 'Open client connections one worker accepts at most; past it the worker stops accepting until one closes.',
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
    default: 0,
    validate: toInt(0),
    desc: "Recycle a worker whose resident memory passes this many MiB (0: never), like PM2's max_memory_restart.",
  }),
  spec({
    name: 'timeout',
    section: 'Worker processes',
    flags: ['--timeout', '-t'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: limits.workerTimeoutS,
    validate: toSeconds(1),
    desc: 'A worker whose event loop has not beaten for this long is hung: the master sends SIGABRT, then SIGKILL, and replaces it.',
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
    name: 'keepalive',
    section: 'Server mechanics',
    flags: ['--keep-alive'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: limits.gatewayKeepAliveTimeoutS,
    validate: toSeconds(0),
    desc: "How long an idle keep-alive connection stays open. Longer than nginx's upstream keepalive_timeout, so nginx, not the gateway, closes idle upstream connections (no race, no 502).",
  }),
  spec({
    name: 'header_timeout',
    section: 'Server mechanics',
    flags: ['--header-timeout'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: limits.clientHeaderTimeoutS,
    validate: toSeconds(1),
    desc: "Time a client has to send the complete request head (slow-header protection when exposed without nginx); the same as nginx's client_header_timeout.",
  }),
  spec({
    name: 'request_timeout',
    section: 'Server mechanics',
    flags: ['--request-timeout'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: 60,
    validate: toSeconds(1),
    desc: 'Time a client has to send the complete request, body included (slow-body protection).',
  }),
  spec({
    name: 'limit_request_line',
    section: 'Security',
    flags: ['--limit-request-line'],
    kind: 'int',
    meta: 'INT',
    default: 4094,
    validate: toInt(32, 65535),
    desc: 'Largest request line (method, target, version) in bytes; a longer one gets 414.',
  }),
  spec({
    name: 'limit_request_fields',
    section: 'Security',
    flags: ['--limit-request-fields'],
    kind: 'int',
    meta: 'INT',
    default: 100,
    validate: toInt(1, 32768),
    desc: 'Most header fields a request may carry; more gets 431.',
  }),
  spec({
    name: 'limit_request_field_size',
    section: 'Security',
    flags: ['--limit-request-field_size', '--limit-request-field-size'],
    kind: 'int',
    meta: 'INT',
    default: 8190,
    validate: toInt(16, 65535),
    desc: 'Largest header field (name and value) in bytes; a larger one gets 431.',
  }),
  spec({
    name: 'limit_request_header_size',
    section: 'Security',
    flags: ['--limit-request-header-size'],
    kind: 'int',
    meta: 'BYTES',
    default: 16384,
    validate: toInt(1024, 1048576),
    desc: 'Largest request head in all (line and headers); a larger one gets 431 from the parser before the app sees it.',
  }),
  spec({
    name: 'limit_request_body',
    section: 'Security',
    flags: ['--limit-request-body'],
    kind: 'int',
    meta: 'BYTES',
    default: limits.bodyLimitBytes,
    validate: toInt(0),
    desc: "Largest request body in bytes, announced or chunked; a larger one gets 413 (0: no limit). Equal to nginx's client_max_body_size.",
  }),
  spec({
    name: 'forwarded_allow_ips',
    section: 'Security',
    flags: ['--forwarded-allow-ips'],
    kind: 'list',
    meta: 'CIDRS',
    default: ['127.0.0.1', '::1'],
    validate: (raw: unknown) => parseCidrList(toList(raw)),
    desc: 'Peers (addresses or CIDRs, `*` for any) whose X-Forwarded-For/Proto/Host and Forwarded headers are trusted. From anyone else they are dropped.',
  }),
  spec({
    name: 'pidfile',
    section: 'Server mechanics',
    flags: ['--pid', '-p'],
    kind: 'string',
    meta: 'FILE',
    default: null,
    validate: toOptionalString,
    desc: "Write the master's pid to this file (removed on exit).",
  }),
  spec({
    name: 'accesslog',
    section: 'Logging',
    flags: ['--access-logfile'],
    kind: 'string',
    meta: 'FILE',
    default: null,
    validate: toOptionalString,
    desc: 'Access log file, one JSON line a request (`-` for stdout). Off by default, as in Gunicorn.',
  }),
  spec({
    name: 'errorlog',
    section: 'Logging',
    flags: ['--error-logfile', '--log-file'],
    kind: 'string',
    meta: 'FILE',
    default: '-',
    validate: (raw: unknown) => toOptionalString(raw) ?? '-',
    desc: 'Error log file (`-` for stderr).',
  }),
  spec({
    name: 'loglevel',
    section: 'Logging',
    flags: ['--log-level'],
    kind: 'string',
    meta: 'LEVEL',
    default: 'info',
    validate: toLevel,
    desc: 'Error log level: debug, info, warning, error, critical.',
  }),
  spec({
    name: 'metrics_bind',
    section: 'Metrics',
    flags: ['--metrics-bind'],
    kind: 'string',
    meta: 'ADDRESS',
    default: null,
    validate: (raw: unknown) => {
      const s = toOptionalString(raw);
      if (s !== null) parseBind(s);
      return s;
    },
    desc: "Serve Prometheus metrics, aggregated over all workers, at /metrics on this separate address (never on the public port). Off by default. Bound once at start, like --bind. Node's own figures (prom-client's default set: GC, heap, event-loop lag) are collected only when this is set.",
  }),
  spec({
    name: 'certfile',
    section: 'SSL',
    flags: ['--certfile'],
    kind: 'string',
    meta: 'FILE',
    default: null,
    validate: toOptionalString,
    desc: 'PEM certificate (chain) file: with --keyfile, the gateway terminates TLS itself on every TCP bind. A HUP reload reads it again, so a renewed certificate is served without dropping a connection.',
  }),
  spec({
    name: 'keyfile',
    section: 'SSL',
    flags: ['--keyfile'],
    kind: 'string',
    meta: 'FILE',
    default: null,
    validate: toOptionalString,
    desc: 'PEM private key file for --certfile.',
  }),
  spec({
    name: 'ca_certs',
    section: 'SSL',
    flags: ['--ca-certs'],
    kind: 'string',
    meta: 'FILE',
    default: null,
    validate: toOptionalString,
    desc: 'PEM file of CA certificates: extra chain certificates sent to clients.',
  }),
  spec({
    name: 'tls_min_version',
    section: 'SSL',
    flags: ['--tls-min-version'],
    kind: 'string',
    meta: 'VERSION',
    default: 'TLSv1.2',
    validate: (raw: unknown) => {
      const s = typeof raw === 'string' ? raw.trim() : '';
      if (s !== 'TLSv1.2' && s !== 'TLSv1.3') fail('expected TLSv1.2 or TLSv1.3');
      return s;
    },
    desc: 'Oldest TLS version accepted (TLSv1.2 or TLSv1.3).',
  }),
  spec({
    name: 'ciphers',
    section: 'SSL',
    flags: ['--ciphers'],
    kind: 'string',
    meta: 'LIST',
    default: null,
    validate: toOptionalString,
    desc: "OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are fixed by Node). Unset: Node's default list.",
  }),
] as const;

export type SettingName = (typeof SETTINGS)[number]['name'];

/** The resolved configuration the master and workers run with. */
export interface Config {
  config: string | null;
  check_config: boolean;
  print_config: boolean;
  bind: Bind[];
  backlog: number;
  unix_socket_mode: number;
  workers: number;
  worker_connections: number;
  max_requests: number;
  max_requests_jitter: number;
  max_worker_memory: number;
  timeout: number;
  graceful_timeout: number;
  keepalive: number;
  header_timeout: number;
  request_timeout: number;
  limit_request_line: number;
  limit_request_fields: number;
  limit_request_field_size: number;
  limit_request_header_size: number;
  limit_request_body: number;
  forwarded_allow_ips: string[];
  pidfile: string | null;
  accesslog: string | null;
  errorlog: string;
  loglevel: string;
  metrics_bind: string | null;
  certfile: string | null;
  keyfile: string | null;
  ca_certs: string | null;
  tls_min_version: string;
  ciphers: string | null;
}

export type AnySetting = (typeof SETTINGS)[number];

export function envName(name: string): string {
  return `GATEWAY_${name.toUpperCase()}`;
}

export function defaultOf(s: AnySetting): unknown {
  const d = s.default as unknown;
  return typeof d === 'function' ? (d as () => unknown)() : d;
}
