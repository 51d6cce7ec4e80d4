/**
 * Proxy awareness. Only peers in --forwarded-allow-ips may tell us the client's address, scheme
 * and host (X-Forwarded-For/Proto/Host, RFC 7239 Forwarded). One rule for every app shape: each
 * request reaches the app with exactly one X-Forwarded-For, -Proto and -Host value, the gateway's
 * verdict (what a trusted proxy said, else the socket's peer, scheme and Host), and no `Forwarded`.
 * Whatever the app reads there is never a client's claim, so a framework told to trust its proxy
 * (Express `trust proxy`, Koa `app.proxy`, Fastify `trustProxy`) reports the right client.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import proxyaddr from 'proxy-addr';

export function parseCidrList(items: string[]): string[] {
  for (const item of items) {
    if (item === '*') continue;
    const [ip, bits, extra] = item.split('/');
    if (extra !== undefined || !ip || net.isIP(ip) === 0) throw new TypeError(`"${item}" is not an IP address or CIDR`);
    if (bits !== undefined) {
      const max = net.isIP(ip) === 4 ? 32 : 128;
      if (!/^\d+$/.test(bits) || Number(bits) > max) throw new TypeError(`"${item}" has an invalid prefix length`);
    }
  }
  return items;
}

export type TrustFn = (addr: string, hop: number) => boolean;

/** How many addresses' verdicts a worker remembers before it starts over (a bound, not a cache policy). */
const VERDICTS_KEPT = 1024;

/**
 * proxy-addr's verdict parses the address on every call (about 2 µs here), and behind nginx every
 * request asks it for the same peer at least once: the verdicts are remembered per address. A
 * compiled list ignores the hop, so the address alone is the key; the memory is bounded, and
 * addresses a client puts in X-Forwarded-For only ever cost what they cost without it.
 */
export function compileTrust(items: string[]): TrustFn {
  if (items.includes('*')) return () => true;
  const compiled = proxyaddr.compile(items);
  const verdicts = new Map<string, boolean>();
  return (addr) => {
    let trusted = verdicts.get(addr);
    if (trusted === undefined) {
      if (verdicts.size >= VERDICTS_KEPT) verdicts.clear();
      trusted = compiled(addr, 0);
      verdicts.set(addr, trusted);
    }
    return trusted;
  };
}

export interface ForwardedView {
  ip: string;
  proto: 'http' | 'https';
  host: string | undefined;
}

function firstToken(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  return s.split(',')[0]!.trim() || undefined;
}

function lastIndexToken(v: string | string[] | undefined, fromRight: number): string | undefined {
  const s = Array.isArray(v) ? v.join(',') : v;
  if (!s) return undefined;
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length === 1) return parts[0] || undefined;
  return parts[parts.length - 1 - fromRight] || undefined;
}

interface ForwardedElement {
  for?: string;
  proto?: string;
  host?: string;
}

/** RFC 7239: `for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711"`. */
export function parseForwardedHeader(value: string): ForwardedElement[] {
  return value.split(',').map((element) => {
    const out: ForwardedElement = {};
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      let val = pair.slice(eq + 1).trim();
      if (val.startsWith('"') && val.endsWith('"')) val = val.slice(1, -1);
      if (key === 'for') out.for = stripPort(val);
      else if (key === 'proto') out.proto = val.toLowerCase();
      else if (key === 'host') out.host = val;
    }
    return out;
  });
}

function stripPort(node: string): string {
  if (node.startsWith('[')) return node.slice(1, node.indexOf(']'));
  const colons = node.split(':').length - 1;
  return colons === 1 ? node.slice(0, node.indexOf(':')) : node;
}

function normProto(p: string | undefined): 'http' | 'https' | undefined {
  return p === 'https' || p === 'http' ? p : undefined;
}

/**
 * Resolves the client as the trusted proxies describe it. The chain is walked from the nearest
 * hop outwards while each hop is trusted (proxy-addr's rule), so a client that prepends a fake
 * X-Forwarded-For entry only fools us about addresses before the first untrusted hop.
 */
export function resolveForwarded(req: IncomingMessage, trust: TrustFn, encrypted: boolean): ForwardedView {
  const remote = req.socket.remoteAddress;
  // A unix-socket peer has no address: only local processes allowed by the socket's file mode can
  // connect, so it is trusted, as in Gunicorn.
  const viaUnixSocket = remote === undefined;
  const peer = remote ?? '';
  const ownProto = encrypted ? 'https' : 'http';
  const host = req.headers.host;
  if (!viaUnixSocket && !trust(peer, 0)) return { ip: peer, proto: ownProto, host };

  const fwd = req.headers.forwarded;
  if (fwd) {
    const elements = parseForwardedHeader(fwd);
    // Walk from the right: element i was added by the proxy that received the connection from for=.
    let i = elements.length - 1;
    let ip = peer;
    let hop = 0;
    for (; i >= 0; i--) {
      const el = elements[i]!;
      if (!el.for || net.isIP(el.for) === 0) break;
      ip = el.for;
      hop++;
      if (!trust(ip, hop)) break;
    }
    const chosen = elements[Math.max(i, 0)] ?? {};
    return { ip, proto: normProto(chosen.proto) ?? ownProto, host: chosen.host ?? host };
  }

  const addrs = proxyaddr.all(req, viaUnixSocket ? (addr, hop) => hop === 0 || trust(addr, hop) : trust);
  const ip = addrs[addrs.length - 1] ?? peer;
  // How many X-Forwarded-For entries were consumed tells which Proto/Host entry belongs to them.
  const consumed = Math.max(addrs.length - 2, 0);
  const proto = normProto(lastIndexToken(req.headers['x-forwarded-proto'], consumed)?.toLowerCase()) ?? ownProto;
  const fHost =
    lastIndexToken(req.headers['x-forwarded-host'], consumed) ?? firstToken(req.headers['x-forwarded-host']);
  return { ip, proto, host: fHost ?? host };
}

/**
 * The common case, a request without any forwarded header: the socket is the truth. Three
 * assignments and no allocation (the strings are the socket's and the Host header's own).
 * A unix-socket peer has no address: no X-Forwarded-For then.
 */
export function applyDirect(req: IncomingMessage, encrypted: boolean): void {
  const h = req.headers;
  const ip = req.socket.remoteAddress;
  if (ip !== undefined) h['x-forwarded-for'] = ip;
  h['x-forwarded-proto'] = encrypted ? 'https' : 'http';
  if (h.host !== undefined) h['x-forwarded-host'] = h.host;
}

/** Rewrites the request's headers to the resolved view (see the file comment). */
export function applyForwarded(req: IncomingMessage, view: ForwardedView): void {
  const h = req.headers;
  delete h.forwarded;
  if (view.ip) h['x-forwarded-for'] = view.ip;
  else delete h['x-forwarded-for'];
  h['x-forwarded-proto'] = view.proto;
  if (view.host !== undefined) h['x-forwarded-host'] = view.host;
  else delete h['x-forwarded-host'];
}
