/**
 * Listening addresses: parsing `HOST:PORT`, `[IPV6]:PORT` and `unix:PATH`, and binding them in the
 * master. Workers never bind: the master passes them the listening handles, so a reload or a
 * crashed worker never closes the socket and no connection is refused meanwhile.
 */

import { lookup } from 'node:dns/promises';
import { chmodSync, existsSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { GatewayError } from './errors.js';

export type Bind =
  | { kind: 'tcp'; host: string; port: number; text: string }
  | { kind: 'unix'; path: string; text: string };

export function parseBind(raw: string): Bind {
  const text = raw.trim();
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new TypeError(`"${raw}" has no socket path`);
    return { kind: 'unix', path, text };
  }
  let host: string;
  let portText: string;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2] ?? '8000';
  } else {
    const i = text.lastIndexOf(':');
    if (i === -1) {
      host = text;
      portText = '8000';
    } else {
      host = text.slice(0, i) || '0.0.0.0';
      portText = text.slice(i + 1);
    }
    if (host.includes(':')) throw new TypeError(`"${raw}": write IPv6 addresses in brackets, e.g. [::1]:8000`);
  }
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new TypeError(`"${raw}" has an invalid port`);
  if (host === '' || /\s/.test(host)) throw new TypeError(`"${raw}" has an invalid host`);
  return { kind: 'tcp', host, port: Number(portText), text };
}

/** A unix socket file left by a killed server refuses connections: that one is safe to remove. */
export async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
    throw new GatewayError('GW_ERR_BIND', `${path} exists and is not a socket; refusing to replace it`);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new GatewayError('GW_ERR_BIND', `${path} is in use by a running server`);
  unlinkSync(path);
}

/** A bound socket handle (libuv TCP or Pipe), owned by the master, listened on by the workers. */
export interface BoundHandle {
  close(cb?: () => void): void;
  getsockname?(out: Record<string, unknown>): number;
  fd: number;
}

export interface Listener {
  bind: Bind;
  handle: BoundHandle;
  /** The address actually bound (the port, when 0 was asked). */
  address: string;
  /**
   * --reuse-port: the master's handle only holds the port (bound with SO_REUSEPORT, never listening,
   * so it is in no accept group); each worker binds and listens on a socket of its own at this
   * address and port, and the kernel spreads new connections over them (reuse-port.ts).
   */
  own?: { host: string; port: number };
}

type CreateServerHandle = (
  address: string | null,
  port: number,
  addressType: number,
  fd?: number,
  flags?: number,
) => BoundHandle | number;
// The primitive node:cluster uses for its shared handles: it binds without listening, so the
// master's event loop never accepts a connection; each worker calls listen() on the shared socket
// and the kernel hands connections straight to the workers.
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

/** libuv's UV_TCP_REUSEPORT bind flag (libuv 1.49, Node 22.12 / 23.1): SO_REUSEPORT on the socket. */
export const UV_TCP_REUSEPORT = 2;

/** `reusePort`: a TCP address is bound with SO_REUSEPORT, for the workers to bind sockets of their own beside it. */
export async function listen(bind: Bind, backlog: number, socketMode: number, reusePort = false): Promise<Listener> {
  void backlog; // applied by each worker's listen(); the master never listens itself
  let handle: BoundHandle | number;
  if (bind.kind === 'unix') {
    await removeStaleSocket(bind.path);
    handle = createServerHandle(bind.path, -1, -1);
  } else {
    let address = bind.host;
    let family = net.isIP(address);
    if (family === 0) {
      try {
        ({ address, family } = await lookup(bind.host));
      } catch (err) {
        throw new GatewayError('GW_ERR_BIND', `cannot listen on ${bind.text}: cannot resolve ${bind.host}`, {
          cause: err,
        });
      }
    }
    // SO_REUSEPORT would let this bind join the sockets of another server of the same user on that
    // port (a second gateway started by mistake), and take a share of its connections: a plain bind
    // first, closed at once, fails on a port something listens on, as without --reuse-port.
    const probe = reusePort && bind.port !== 0 ? createServerHandle(address, bind.port, family) : undefined;
    if (probe !== undefined) {
      if (typeof probe === 'number' || !boundPort(probe)) {
        if (typeof probe !== 'number') probe.close();
        const why = typeof probe === 'number' ? getSystemErrorName(probe) : 'EADDRINUSE';
        throw new GatewayError('GW_ERR_BIND', `cannot listen on ${bind.text}: ${why}`);
      }
      probe.close();
    }
    handle = createServerHandle(address, bind.port, family, undefined, reusePort ? UV_TCP_REUSEPORT : 0);
  }
  if (typeof handle === 'number') {
    throw new GatewayError('GW_ERR_BIND', `cannot listen on ${bind.text}: ${getSystemErrorName(handle)}`);
  }
  if (bind.kind === 'unix') {
    chmodSync(bind.path, socketMode);
    return { bind, handle, address: `unix:${bind.path}` };
  }
  const out: { address?: string; port?: number; family?: string } = {};
  handle.getsockname?.(out);
  // libuv keeps EADDRINUSE from bind() until listen(); the socket is then left unbound (port 0).
  if (bind.port !== 0 && !out.port) {
    handle.close();
    throw new GatewayError('GW_ERR_BIND', `cannot listen on ${bind.text}: EADDRINUSE`);
  }
  const address = out.family === 'IPv6' ? `[${out.address}]:${out.port}` : `${out.address}:${out.port}`;
  if (reusePort) return { bind, handle, address, own: { host: out.address!, port: out.port! } };
  return { bind, handle, address };
}

/** The port a TCP handle is bound to; 0 when libuv deferred a bind error (EADDRINUSE) to listen(). */
function boundPort(handle: BoundHandle): number {
  const out: { port?: number } = {};
  handle.getsockname?.(out);
  return out.port ?? 0;
}

export function closeListener(l: Listener): void {
  l.handle.close();
  if (l.bind.kind === 'unix') {
    try {
      unlinkSync(l.bind.path);
    } catch {
      /* already gone */
    }
  }
}
