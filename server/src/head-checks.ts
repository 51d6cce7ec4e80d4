/**
 * The checks every request head gets before the app sees it: the limits the parser does not
 * enforce (request line, header count and field size, declared body size), what RFC 9112 requires
 * and Node's parser lets through (one Host, of valid syntax; one Content-Type; `*` only for
 * OPTIONS; HTTP/1.x only; no Transfer-Encoding on HTTP/1.0), the host rules of host-rules.ts, and
 * proxy-header vetting. One pass over the raw head, run once per request: when a `Expect:
 * 100-continue` request is vetted before its "100 Continue", the scan is kept on the request and the
 * pipeline reuses it.
 */
import type { IncomingMessage } from 'node:http';
import { applyDirect, applyForwarded, resolveForwarded, type TrustFn } from './forwarded.js';
import { absoluteTarget, allowedHosts, hostnameOf, validHost } from './host-rules.js';
import { rawRefusal } from './refusals.js';
import type { Config } from './settings.js';

export interface Refusal {
  status: 400 | 413 | 414 | 421 | 431 | 505;
  message: string;
}

/** What one pass over the head tells; req.headers (built lazily by Node) is not touched. */
export interface HeadScan {
  refusal: Refusal | undefined;
  contentLength: string | undefined;
  /** A Transfer-Encoding field is present (Node's parser accepts only a final `chunked`). */
  chunked: boolean;
  forwarded: boolean;
  /** An absolute-form target (`GET http://host/path`): its authority is the request's host. */
  target: { authority: string; path: string } | undefined;
}

/** Where a scan made before the request reached the pipeline is kept (a symbol: no per-request allocation). */
const HEAD_SCAN = Symbol('gateway.headScan');
type Scanned = IncomingMessage & { [HEAD_SCAN]?: HeadScan };

const FORWARDED_NAMES = new Set(['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/**
 * One pass over the raw head: request line (the parser only caps the head as a whole), header
 * count and field size, declared body size; and what the caller needs to know of the head.
 */
function scanHead(req: IncomingMessage, config: Config): HeadScan {
  const out: HeadScan = {
    refusal: undefined,
    contentLength: undefined,
    chunked: false,
    forwarded: false,
    target: undefined,
  };
  // The request line is method SP target SP HTTP/x.y.
  if ((req.method?.length ?? 0) + (req.url?.length ?? 0) + 10 > config.limit_request_line) {
    out.refusal = { status: 414, message: `request line is longer than ${config.limit_request_line} bytes` };
    return out;
  }
  // Node's parser takes HTTP/0.9 (a request line without a version, too) and HTTP/2.0 on an HTTP/1
  // request line, and refuses 1.2 to 1.9 with 400. 0.9 is not an HTTP/1 request: 400, as Gunicorn
  // answers (its client could not read a status line anyway); a later major version: 505.
  // An HTTP/2 stream (http2-server.ts hands its compatibility request here) has no request line.
  const h2 = (req as { stream?: unknown }).stream !== undefined;
  if (req.httpVersionMajor !== 1 && !h2) {
    out.refusal =
      req.httpVersionMajor === 0
        ? { status: 400, message: 'not an HTTP/1 request line' }
        : { status: 505, message: `HTTP/${req.httpVersion} is not supported` };
    return out;
  }
  // RFC 9112 §3.2.4: the asterisk form is only for a server-wide OPTIONS.
  if (req.url === '*' && req.method !== 'OPTIONS') {
    out.refusal = { status: 400, message: 'the asterisk-form target is only for OPTIONS' };
    return out;
  }
  let host: string | undefined;
  let hosts = 0;
  let contentType: string | undefined;
  let contentTypes = false;
  const raw = req.rawHeaders;
  if (raw.length / 2 > config.limit_request_fields) {
    out.refusal = { status: 431, message: `more than ${config.limit_request_fields} header fields` };
    return out;
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // name + ": " + value, as it stood on the wire
    if (name.length + raw[i + 1]!.length + 2 > config.limit_request_field_size) {
      out.refusal = {
        status: 431,
        message: `header field ${name} is larger than ${config.limit_request_field_size} bytes`,
      };
      return out;
    }
    const n = name.length;
    if (n === 14 || n === 17 || n === 9 || n === 15 || n === 16 || n === 4 || n === 12) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') out.contentLength = raw[i + 1];
      else if (lower === 'transfer-encoding') out.chunked = true;
      else if (lower === 'host') {
        hosts++;
        host ??= raw[i + 1];
      } else if (lower === 'content-type') {
        // Two values that differ: which one the app believes would be a guess (RFC 9110 §5.3).
        if (contentType !== undefined && contentType !== raw[i + 1]) contentTypes = true;
        contentType = raw[i + 1];
      } else if (FORWARDED_NAMES.has(lower)) out.forwarded = true;
    }
  }
  out.refusal = framingRefusal(req, hosts, contentTypes, out.chunked) ?? hostRefusal(req, config, host, out);
  if (out.refusal) return out;
  const limit = config.limit_request_body;
  if (limit > 0 && out.contentLength !== undefined && Number(out.contentLength) > limit) {
    out.refusal = { status: 413, message: `request body is larger than ${limit} bytes` };
  }
  return out;
}

/** What RFC 9112 says to answer 400 to and Node's parser lets through. */
function framingRefusal(req: IncomingMessage, hosts: number, contentTypes: boolean, te: boolean): Refusal | undefined {
  // §3.2: "more than one Host header field line".
  if (hosts > 1) return { status: 400, message: 'more than one Host field' };
  if (contentTypes) return { status: 400, message: 'Content-Type fields with different values' };
  // §6.1: Transfer-Encoding on HTTP/1.0 means the framing is faulty (an HTTP/1.0 proxy in the way
  // would not have understood it); Gunicorn refuses it too.
  if (te && req.httpVersionMajor === 1 && req.httpVersionMinor === 0)
    return { status: 400, message: 'Transfer-Encoding on an HTTP/1.0 request' };
  return undefined;
}

/**
 * The request's host: the Host field's syntax (§3.2: an invalid value is a 400), the absolute-form
 * target's authority instead of the Host field (§3.2.2), and allowed_hosts (400 for another name;
 * 421 when a TLS client set the connection up, by its SNI, for a name not served here).
 */
function hostRefusal(
  req: IncomingMessage,
  config: Config,
  host: string | undefined,
  out: HeadScan,
): Refusal | undefined {
  if (host !== undefined && !validHost(host)) return { status: 400, message: 'invalid Host field' };
  let effective = host;
  const target = absoluteTarget(req.url ?? '/');
  if (target) {
    if (target.authority.includes('@') || !validHost(target.authority))
      return { status: 400, message: 'invalid authority in the request target' };
    out.target = target;
    effective = target.authority;
  }
  const allowed = allowedHosts(config.allowed_hosts);
  if (!allowed) return undefined;
  const name = effective === undefined ? '' : hostnameOf(effective);
  if (name === '' || !allowed.allows(name)) return { status: 400, message: 'this host is not served here' };
  // The connection was set up (SNI) for a name not served here: misdirected, whatever Host says.
  // Two served names on one connection are served, as nginx does over HTTP/1.1.
  const sni = (req.socket as { servername?: string | false }).servername;
  if (typeof sni === 'string' && sni !== '' && !allowed.allows(sni.toLowerCase()))
    return { status: 421, message: 'the TLS server name is not served here' };
  return undefined;
}

/**
 * An absolute-form target as nginx passes it on: the path in origin form, and its authority as the
 * Host field, so the app routes and reports the host the target named (RFC 9112 §3.2.2).
 */
export function useTargetAuthority(req: IncomingMessage, head: HeadScan): void {
  if (!head.target) return;
  const { authority, path } = head.target;
  // The raw lines too, so req.headersDistinct and the raw view agree with req.headers.
  const raw = req.rawHeaders;
  let i = 0;
  while (i < raw.length && raw[i]!.toLowerCase() !== 'host') i += 2;
  if (i < raw.length) raw[i + 1] = authority;
  else raw.push('Host', authority);
  req.headers.host = authority;
  req.url = path;
}

/** The head's scan: the one made before a "100 Continue" if there was one, else made now. */
export function vetHead(req: IncomingMessage, config: Config): HeadScan {
  return (req as Scanned)[HEAD_SCAN] ?? scanHead(req, config);
}

/**
 * Whether a request that says `Expect: 100-continue` may be told to send its body: the same head
 * checks as the pipeline's, whose result the pipeline then reuses. Without this, Node answers
 * "100 Continue" on its own and the client uploads a body that is then refused with 413.
 */
export function mayContinue(req: IncomingMessage, config: Config): boolean {
  const head = scanHead(req, config);
  (req as Scanned)[HEAD_SCAN] = head;
  return head.refusal === undefined;
}

/**
 * Sets X-Forwarded-For/Proto/Host to the gateway's verdict on every request (forwarded.ts). Without
 * forwarded headers in the head (a direct client, or a proxy that sets none) there is nothing to
 * resolve: the socket's values are copied in, which costs a few assignments.
 */
export function vetForwarded(req: IncomingMessage, head: HeadScan, trust: TrustFn): void {
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  if (head.forwarded) applyForwarded(req, resolveForwarded(req, trust, encrypted));
  else applyDirect(req, encrypted);
}

/**
 * The same head checks and proxy-header vetting for an Upgrade request (WebSocket) before the app
 * takes the connection over. Returns the refusal to write on the raw socket, if any.
 */
export function vetUpgrade(req: IncomingMessage, config: Config, trust: TrustFn): string | undefined {
  const head = scanHead(req, config);
  if (head.refusal) return rawRefusal(head.refusal.status);
  useTargetAuthority(req, head);
  vetForwarded(req, head, trust);
  return undefined;
}
