/**
 * --reuse-port: each worker accepts on a listening socket of its own (SO_REUSEPORT) instead of the
 * one socket the master binds and every worker shares.
 *
 * Why: on a shared socket every worker waits in epoll on the same queue, and the one that wakes
 * first accepts everything pending (libuv accepts until EAGAIN), so a few workers take most
 * kept-alive connections and their clients queue behind each other while other workers idle. With
 * SO_REUSEPORT the kernel hashes each new connection to one of the sockets of the group: the spread
 * follows the hash, not who woke first (figures: README, "Worker balance").
 *
 * What it costs: a worker's socket closes with it, and the connections still in its accept queue
 * (handshake done, not accepted yet) are reset, unless the kernel migrates them to another socket
 * of the group (`net.ipv4.tcp_migrate_req = 1`, Linux 5.14+). With a shared socket they simply wait
 * for the next worker. So a reload, a recycle or a crash under load can reset a few connections;
 * the start line says which of the two the host does.
 *
 * The master still binds every address first (with SO_REUSEPORT, never listening, so it is in no
 * accept group): a bad address fails the start as before, port 0 is resolved once, and the port
 * stays held across reloads. `unix:` addresses are always shared (Linux balances SO_REUSEPORT for
 * TCP and UDP only). Needs Node's `reusePort` (22.12 / 23.1 on); `auto` falls back to the shared
 * socket elsewhere, and says so.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import { type BoundHandle, UV_TCP_REUSEPORT } from './binds.js';
import { GatewayError } from './errors.js';
import type { Config } from './settings.js';

export const REUSE_PORT_MODES = ['auto', 'on', 'off'] as const;
export type ReusePortMode = (typeof REUSE_PORT_MODES)[number];

type CreateServerHandle = (a: string, p: number, t: number, fd?: number, flags?: number) => BoundHandle | number;
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

let supported: boolean | undefined;

/**
 * Whether this Node sets SO_REUSEPORT when asked: a second socket bound, with the flag, to the port
 * of a first one that listens with it. A Node without the flag ignores it (the listen option too,
 * silently) and the second bind fails; libuv reports that as a socket left unbound (port 0). The
 * first must listen: Linux lets SO_REUSEADDR sockets (libuv sets it) share a port until one does.
 */
export function reusePortSupported(): boolean {
  if (supported !== undefined) return supported;
  const first = createServerHandle('127.0.0.1', 0, 4, undefined, UV_TCP_REUSEPORT);
  if (typeof first === 'number') {
    supported = false;
    return supported;
  }
  const out: { port?: number } = {};
  first.getsockname?.(out);
  (first as unknown as { listen(backlog: number): number }).listen(1);
  const second = out.port ? createServerHandle('127.0.0.1', out.port, 4, undefined, UV_TCP_REUSEPORT) : -1;
  const got: { port?: number } = {};
  if (typeof second !== 'number') {
    second.getsockname?.(got);
    second.close();
  }
  first.close();
  supported = got.port === out.port && out.port !== undefined;
  return supported;
}

/** The host's `net.ipv4.tcp_migrate_req` (0, 1), or undefined where it cannot be read (Linux before 5.14). */
export function tcpMigrateReq(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * Whether the TCP addresses get per-worker sockets. `on` where Node cannot: GW_ERR_REUSE_PORT
 * (asked for explicitly, a silent fallback would hide that every figure is the shared socket's);
 * `auto` there: the shared socket, said once at start.
 */
export function useReusePort(config: Config, log: Logger): boolean {
  const mode = config.reuse_port as ReusePortMode;
  if (mode === 'off' || !config.bind.some((b) => b.kind === 'tcp')) return false;
  if (!reusePortSupported()) {
    const why = `Node ${process.versions.node} has no reusePort (Node 22.12 / 23.1 and later have it)`;
    if (mode === 'on') {
      throw new GatewayError('GW_ERR_REUSE_PORT', `--reuse-port on: ${why}; use --reuse-port auto or off`);
    }
    log.info(`Reuse port: ${why}; the workers share one socket per address`);
    return false;
  }
  const migrate = tcpMigrateReq();
  log.info(
    `Reuse port: one listening socket per worker (SO_REUSEPORT); net.ipv4.tcp_migrate_req = ${migrate ?? 'unknown'}` +
      (migrate === 1 ? '' : ': a stopping worker resets the connections still queued on its socket'),
  );
  return true;
}

/** What a worker listens on for one listener: the master's handle (shared), or its own socket there. */
export type ListenTarget = object | { host: string; port: number };

/** Listens `server` on the master's handle, or on a SO_REUSEPORT socket of its own at `own`. */
export function listenOn(server: net.Server, target: ListenTarget, backlog: number, done: () => void): void {
  const own = target as { host?: unknown; port?: unknown };
  if (typeof own.host === 'string' && typeof own.port === 'number') {
    server.listen({ host: own.host, port: own.port, backlog, reusePort: true } as net.ListenOptions, done);
  } else server.listen(target, backlog, done);
}
