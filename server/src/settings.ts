/**
 * Every setting of the gateway, declared once: name, CLI flags, environment variable, validator,
 * default and description. The CLI parser, the environment mapping, `--print-config`, `--help`
 * and docs/settings.md are all derived from this list (Gunicorn's config.py pattern); the names of
 * environment variables and computed defaults come from setting-spec.ts.
 */

import {
  defaultBind,
  spec,
  toBinds,
  toBool,
  toCidrs,
  toHostNames,
  toInt,
  toLevel,
  toOctalMode,
  toOptionalAddress,
  toOptionalString,
  toReusePort,
  toSeconds,
  toTlsVersion,
} from './setting-spec.js';
import { HTTP2_SETTINGS } from './settings-http2.js';
import { CONTROL_SETTINGS, PROXY_PROTOCOL_SETTINGS } from './settings-proxy-control.js';
import { UPGRADE_SETTINGS } from './settings-upgrades.js';
import { WORKER_SETTINGS } from './settings-workers.js';
import { limits } from './shared-limits.js';
import { tlsPolicy } from './shared-tls-policy.js';

export const SETTINGS = [
  spec({
    name: 'config',
    section: 'Config',
    flags: ['--config', '-c'],
    kind: 'string',
    meta: 'FILE',
    default: null,
    validate: toOptionalString,
    desc:
      'A config file: JSON, or an ES module whose default export is an object. Keys are setting names ' +
      '(`max_requests`). Command line beats environment beats this file beats defaults.',
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
    show: (binds) => JSON.stringify(binds.map((b) => b.text)),
    desc:
      'Where to listen: `HOST:PORT`, `[IPV6]:PORT` or `unix:PATH`. Repeat the flag (or comma-separate) to ' +
      'listen on several. Bound once at start: a HUP reload keeps the addresses (and says so if the ' +
      'configuration changed them).',
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
    show: (mode) => mode.toString(8),
    desc: 'File mode of `unix:` sockets (octal). 660 lets the owning group (say, nginx) connect and nobody else.',
  }),
  spec({
    name: 'reuse_port',
    section: 'Server socket',
    flags: ['--reuse-port'],
    kind: 'string',
    meta: 'auto|on|off',
    default: 'off',
    validate: toReusePort,
    desc:
      'How workers accept on TCP addresses. `off`: one socket bound by the master, shared by every worker ' +
      '(a busy or blocked worker accepts nothing, the others take its share); `on`: each worker listens on ' +
      'a socket of its own (SO_REUSEPORT) and the kernel hashes each new connection to one of them, busy or ' +
      'not; `auto`: `on` where Node has `reusePort` (22.12 / 23.1 on), else `off`, said at start. `on` where ' +
      'Node lacks it stops the start (GW_ERR_REUSE_PORT). With per-worker sockets a stopping worker resets ' +
      'the connections still queued on its socket unless `net.ipv4.tcp_migrate_req = 1`. `unix:` addresses ' +
      'are always shared. Set at start (a HUP keeps it). Figures: README, "Worker balance".',
  }),
  ...WORKER_SETTINGS,
  ...HTTP2_SETTINGS,
  ...UPGRADE_SETTINGS,
  spec({
    name: 'keepalive',
    section: 'Server mechanics',
    flags: ['--keep-alive'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: limits.gatewayKeepAliveTimeoutS,
    validate: toSeconds(0),
    desc:
      "How long an idle keep-alive connection stays open. Longer than nginx's upstream keepalive_timeout, " +
      'so nginx, not the gateway, closes idle upstream connections (no race, no 502).',
  }),
  spec({
    name: 'header_timeout',
    section: 'Server mechanics',
    flags: ['--header-timeout'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: limits.clientHeaderTimeoutS,
    validate: toSeconds(1),
    desc:
      'Time a client has to send the complete request head (slow-header protection when exposed without ' +
      "nginx); the same as nginx's client_header_timeout.",
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
    desc:
      'Largest request body in bytes, announced or chunked; a larger one gets 413 (0: no limit). Equal to ' +
      "nginx's client_max_body_size.",
  }),
  spec({
    name: 'forwarded_allow_ips',
    section: 'Security',
    flags: ['--forwarded-allow-ips'],
    kind: 'list',
    meta: 'CIDRS',
    default: ['127.0.0.1', '::1'],
    validate: toCidrs,
    desc:
      'Peers (addresses or CIDRs, `*` for any) whose X-Forwarded-For/Proto/Host and Forwarded headers are ' +
      'trusted. From anyone else they are replaced by the socket peer and scheme (the app always gets one value).',
  }),
  ...PROXY_PROTOCOL_SETTINGS,
  spec({
    name: 'allowed_hosts',
    section: 'Security',
    flags: ['--allowed-hosts'],
    kind: 'list',
    meta: 'NAMES',
    default: [],
    validate: toHostNames,
    desc:
      "The host names served (nginx's server_name: `example.com`, `*.example.com`, `.example.com`, IP " +
      'addresses; comma- or space-separated). A request for another host, by its Host field or by an ' +
      'absolute-form target (which takes precedence), is refused with 400; one on a TLS connection made for ' +
      'a server name (SNI) not in the list, with 421. Empty (the default): every host is served.',
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
  ...CONTROL_SETTINGS,
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
    name: 'capture_output',
    section: 'Logging',
    flags: ['--capture-output'],
    kind: 'bool',
    default: false,
    validate: toBool,
    desc:
      "Pipe the workers' stdout and stderr through the master: each line that is not already a JSON object " +
      "becomes an error-log record (info for stdout, error for stderr) with the worker's pid, so an app's " +
      'console output and stack traces do not break a JSON log. Off by default, as in Gunicorn.',
  }),
  spec({
    name: 'metrics_bind',
    section: 'Metrics',
    flags: ['--metrics-bind'],
    kind: 'string',
    meta: 'ADDRESS',
    default: null,
    validate: toOptionalAddress,
    desc:
      'Serve Prometheus metrics, aggregated over all workers, at /metrics on this separate address (never ' +
      "on the public port). Off by default. Bound once at start, like --bind. Node's own figures " +
      "(prom-client's default set: GC, heap, event-loop lag) are collected only when this is set.",
  }),
  spec({
    name: 'health_bind',
    section: 'Health checks',
    flags: ['--health-bind'],
    kind: 'string',
    meta: 'ADDRESS',
    default: null,
    validate: toOptionalAddress,
    desc:
      'Answer GET /livez and /readyz on this address of their own (they are also on --metrics-bind): the ' +
      'master answers, not the app, so a busy or blocked worker never fails a probe. /livez: 503 only when ' +
      'every worker past its boot has missed its heartbeat for timeout; /readyz: 503 until a worker is ready, ' +
      'and from TERM on (shutdown_delay). Off by default. Bound once at start, like --bind.',
  }),
  spec({
    name: 'certfile',
    section: 'SSL',
    flags: ['--certfile'],
    kind: 'string',
    meta: 'FILE',
    default: null,
    validate: toOptionalString,
    desc:
      'PEM certificate (chain) file: with --keyfile, the gateway terminates TLS itself on every TCP bind. A ' +
      'HUP reload reads it again, so a renewed certificate is served without dropping a connection.',
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
    default: tlsPolicy.protocols[0],
    validate: toTlsVersion,
    desc: "Oldest TLS version accepted (TLSv1.2 or TLSv1.3). Default: the oldest of config/tls-policy.json's protocols, as nginx's.",
  }),
  spec({
    name: 'ciphers',
    section: 'SSL',
    flags: ['--ciphers'],
    kind: 'string',
    meta: 'LIST',
    default: tlsPolicy.tls12Ciphers.join(':'),
    validate: toOptionalString,
    desc:
      'OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are fixed by Node, all AEAD). Default: the suites of ' +
      "config/tls-policy.json, as nginx's ssl_ciphers (Mozilla intermediate: ECDHE with AES-GCM or ChaCha20-" +
      "Poly1305, no CBC). Empty: Node's default list, which has CBC suites.",
  }),
  spec({
    name: 'reload',
    section: 'Debugging',
    flags: ['--reload'],
    kind: 'bool',
    default: false,
    validate: toBool,
    desc:
      "For development: watch the app module's directory (not node_modules, not dotfiles) and reload on a " +
      'change, 200 ms after the last one, as a HUP does; a broken save leaves the old workers serving.',
  }),
] as const;

export type AnySetting = (typeof SETTINGS)[number];
export type SettingName = AnySetting['name'];

/**
 * The resolved configuration the master and workers run with: one key a setting, each of the type
 * its validator returns.
 */
export type Config = { [S in AnySetting as S['name']]: ReturnType<S['validate']> };
