/**
 * The settings of the PROXY protocol (proxy-protocol.ts) and of the control socket
 * (control-socket.ts): parts of the one table in settings.ts, kept apart only for that file's
 * length. Their order here is their order in `--help` and docs/settings.md.
 */
import { spec, toBool, toCidrs, toOptionalString } from './setting-spec.js';

export const PROXY_PROTOCOL_SETTINGS = [
  spec({
    name: 'proxy_protocol',
    section: 'Security',
    flags: ['--proxy-protocol'],
    kind: 'bool',
    default: false,
    validate: toBool,
    desc:
      'Every connection starts with a PROXY protocol header (v1 or v2), as an L4 balancer sends it (AWS NLB, ' +
      'HAProxy `send-proxy`): the client address it carries is the peer from then on (X-Forwarded-For, /whoami, ' +
      'the access log). Only from `proxy_allow_ips`; an untrusted peer, a missing or malformed header is closed ' +
      'without a response and counted (gateway_proxy_protocol_refusals_total). Off by default, as in Gunicorn.',
  }),
  spec({
    name: 'proxy_allow_ips',
    section: 'Security',
    flags: ['--proxy-allow-ips', '--proxy-allow-from'],
    kind: 'list',
    meta: 'CIDRS',
    default: ['127.0.0.1', '::1'],
    validate: toCidrs,
    desc:
      'Peers (addresses or CIDRs, `*` for any) that may connect with --proxy-protocol: the balancer, not its ' +
      'clients. A list of its own, not forwarded_allow_ips: an L4 balancer passes the X-Forwarded-For its ' +
      'clients send through untouched, so trusting it for headers would let any client choose its address.',
  }),
] as const;

export const CONTROL_SETTINGS = [
  spec({
    name: 'control_socket',
    section: 'Server mechanics',
    flags: ['--control-socket'],
    kind: 'string',
    meta: 'PATH',
    default: null,
    validate: toOptionalString,
    desc:
      "A unix socket (mode 0600: the master's user only) where the master answers `nodicorn ctl` (workers, " +
      "stats, reload, scale N, kill PID, drain): JSON, one request a line, like Gunicorn's gunicornc. Off by " +
      'default; bound once at start and removed on exit.',
  }),
] as const;
