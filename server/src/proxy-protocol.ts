/**
 * The PROXY protocol (HAProxy's, v1 text and v2 binary), for a gateway behind an L4 balancer (AWS
 * NLB, HAProxy `send-proxy`, a TCP load balancer of Swarm or Kubernetes): the balancer opens each
 * connection with a header naming the client, and the gateway takes that address as the socket's
 * peer. From then on it is what a trusted X-Forwarded-For makes it: `req.socket.remoteAddress`, the
 * X-Forwarded-For the app gets (forwarded.ts), /whoami, the access log.
 *
 * With `--proxy-protocol` every connection must come from a peer of `--proxy-allow-ips` (a unix
 * socket's peer always is) and start with a header; anything else is closed without a response
 * (an HTTP answer would go to a balancer, not to a client) and counted by reason. The header is
 * read before the HTTP parser (or TLS) sees a byte: the server's own 'connection' listeners are
 * called only once it is consumed, with what followed it pushed back onto the socket.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { compileTrust, type TrustFn } from './forwarded.js';
import type { Config } from './settings.js';
import type { WorkerStats } from './worker-stats.js';

/** Why a connection was closed before HTTP: the `reason` label of gateway_proxy_protocol_refusals_total. */
export const PROXY_REFUSALS = ['untrusted_peer', 'malformed', 'timeout'] as const;
export type ProxyRefusal = (typeof PROXY_REFUSALS)[number];

export interface ProxyAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/**
 * A header as far as it has arrived. `source` is absent when the header says to keep the
 * connection's own addresses: v2 LOCAL (the balancer's health check), v1 UNKNOWN, v2 UNSPEC or unix.
 */
export type ParsedHeader =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; why: string }
  | { kind: 'ok'; length: number; source?: ProxyAddress };

const V1_PREFIX = Buffer.from('PROXY ');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The spec's bound: "PROXY TCP6" with two full IPv6 addresses, two ports and CRLF. */
const V1_MAX = 107;
const V2_HEAD = 16;

/** Parses the start of a connection's bytes (both versions); pure, for the tests too. */
export function parseProxyHeader(buf: Buffer): ParsedHeader {
  const isPrefix = (sig: Buffer) =>
    buf.subarray(0, sig.length).equals(sig.subarray(0, Math.min(buf.length, sig.length)));
  if (isPrefix(V2_SIGNATURE)) return buf.length < V2_HEAD ? { kind: 'incomplete' } : parseV2(buf);
  if (isPrefix(V1_PREFIX)) return buf.length < V1_PREFIX.length ? { kind: 'incomplete' } : parseV1(buf);
  return { kind: 'invalid', why: 'no PROXY protocol header' };
}

function parseV1(buf: Buffer): ParsedHeader {
  const end = buf.subarray(0, V1_MAX).indexOf('\r\n');
  if (end === -1) return buf.length >= V1_MAX ? { kind: 'invalid', why: 'v1 line too long' } : { kind: 'incomplete' };
  const fields = buf.subarray(0, end).toString('latin1').split(' ');
  const length = end + 2;
  if (fields[1] === 'UNKNOWN') return { kind: 'ok', length };
  if (fields.length !== 6) return { kind: 'invalid', why: 'v1 line does not have 6 fields' };
  const [, proto, src, dst, sport, dport] = fields as [string, string, string, string, string, string];
  const family = proto === 'TCP4' ? 4 : proto === 'TCP6' ? 6 : 0;
  if (family === 0) return { kind: 'invalid', why: `v1 protocol ${JSON.stringify(proto)}` };
  if (net.isIP(src) !== family || net.isIP(dst) !== family) return { kind: 'invalid', why: 'v1 address' };
  const port = (p: string) => (/^(0|[1-9]\d{0,4})$/.test(p) && Number(p) <= 65535 ? Number(p) : -1);
  if (port(sport) < 0 || port(dport) < 0) return { kind: 'invalid', why: 'v1 port' };
  return { kind: 'ok', length, source: { address: src, port: port(sport), family: family === 4 ? 'IPv4' : 'IPv6' } };
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // The URL parser writes it the way Node writes a socket's address (RFC 5952: zeros compressed).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function parseV2(buf: Buffer): ParsedHeader {
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', why: `v2 version ${verCmd >> 4}` };
  const command = verCmd & 0x0f;
  if (command > 1) return { kind: 'invalid', why: `v2 command ${command}` };
  const length = V2_HEAD + buf.readUInt16BE(14);
  if (buf.length < length) return { kind: 'incomplete' };
  // LOCAL: the balancer speaking for itself (a health check); the address block, if any, is skipped.
  if (command === 0) return { kind: 'ok', length };
  const family = buf[13]! >> 4;
  const block = buf.subarray(V2_HEAD, length);
  // What follows the addresses is TLVs (ALPN, authority, AWS's VPC endpoint id, ...): skipped.
  if (family === 1) {
    if (block.length < 12) return { kind: 'invalid', why: 'v2 IPv4 block too short' };
    const address = [...block.subarray(0, 4)].join('.');
    return { kind: 'ok', length, source: { address, port: block.readUInt16BE(8), family: 'IPv4' } };
  }
  if (family === 2) {
    if (block.length < 36) return { kind: 'invalid', why: 'v2 IPv6 block too short' };
    return {
      kind: 'ok',
      length,
      source: { address: ipv6(block.subarray(0, 16)), port: block.readUInt16BE(32), family: 'IPv6' },
    };
  }
  if (family === 0 || family === 3) return { kind: 'ok', length };
  return { kind: 'invalid', why: `v2 address family ${family}` };
}

export interface ProxyProtocolOptions {
  /** The peers that may send a header (--proxy-allow-ips). */
  trust: TrustFn;
  /** How long a connection has to send its whole header (header_timeout). */
  timeoutMs: number;
  /** A connection closed before HTTP: counted and logged by the caller. */
  refused(reason: ProxyRefusal, peer: string | undefined, why: string): void;
}

const SOURCE = Symbol('gateway.proxySource');
type Proxied = net.Socket & { [SOURCE]?: ProxyAddress; _parent?: Proxied };

/** The peer the rest of the gateway sees: own properties shadow net.Socket's getters. */
function takeSource(socket: net.Socket, source: ProxyAddress): void {
  for (const [key, value] of [
    ['remoteAddress', source.address],
    ['remotePort', source.port],
    ['remoteFamily', source.family],
  ] as const)
    Object.defineProperty(socket, key, { value, configurable: true });
}

/**
 * Makes `server` read a PROXY header on every connection before its own handling (http's parser,
 * or TLS then http). Call it once the server is built, before it listens.
 */
export function acceptProxyProtocol(server: net.Server, o: ProxyProtocolOptions): void {
  const handlers = server.listeners('connection') as Array<(socket: net.Socket) => void>;
  server.removeAllListeners('connection');
  // A TLS server wraps the raw socket in a TLSSocket, whose peer getters ask the handle again.
  server.prependListener('secureConnection', (tls: Proxied) => {
    const source = tls._parent?.[SOURCE];
    if (source) takeSource(tls, source);
  });
  server.on('connection', (socket: Proxied) => {
    const peer = socket.remoteAddress;
    const refuse = (reason: ProxyRefusal, why: string) => {
      clearTimeout(timer);
      socket.destroy();
      o.refused(reason, peer, why);
    };
    // A unix socket's peer has no address: only local processes the file mode allows can connect.
    if (peer !== undefined && !o.trust(peer, 0)) {
      socket.destroy();
      o.refused('untrusted_peer', peer, 'not in proxy_allow_ips');
      return;
    }
    const timer = setTimeout(() => refuse('timeout', 'no complete header in time'), o.timeoutMs).unref();
    const onError = () => socket.destroy();
    socket.once('close', () => clearTimeout(timer));
    let buf: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      const parsed = parseProxyHeader(buf);
      if (parsed.kind === 'incomplete') return;
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      if (parsed.kind === 'invalid') return refuse('malformed', parsed.why);
      clearTimeout(timer);
      // Paused while the server's own listeners take the socket over: the bytes after the header
      // wait in its buffer. TLS drains that buffer into its handle itself (and resuming the raw
      // socket would race it for the bytes); http's parser gets them as 'data' once resumed.
      socket.pause();
      const rest = buf.subarray(parsed.length);
      if (rest.length > 0) socket.unshift(rest);
      if (parsed.source) {
        socket[SOURCE] = parsed.source;
        takeSource(socket, parsed.source);
      }
      for (const handle of handlers) handle.call(server, socket);
      if (!(server instanceof tls.Server)) socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', onError);
  });
}

/** A worker's options: the trusted list compiled once, each refusal counted and logged in one line at debug. */
export function proxyProtocolOptions(
  config: Pick<Config, 'proxy_allow_ips' | 'header_timeout'>,
  stats: Pick<WorkerStats, 'refusedProxy'>,
  log: Logger,
): ProxyProtocolOptions {
  return {
    trust: compileTrust(config.proxy_allow_ips),
    timeoutMs: config.header_timeout * 1000,
    refused(reason, peer, why) {
      stats.refusedProxy(reason);
      log.debug({ reason, peer }, `PROXY protocol: closed a connection from ${peer ?? 'a unix socket'} (${why})`);
    },
  };
}
