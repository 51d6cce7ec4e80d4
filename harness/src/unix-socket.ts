// The directory a gateway's unix socket lives in when nginx reaches it over that socket (topology
// `full-uds`), made so that nginx's workers can connect and no other unprivileged user can: the
// layout the docs recommend for a host (docs/containers.md, "nginx → gateway over a unix socket").
//
//   dir    owner: this process's user, group: nginx's workers' group, mode 2750 (setgid)
//   socket created by the gateway in it: the group is inherited from the directory (setgid),
//          the mode is the gateway's --unix-socket-mode (default 660)
//
// So the socket's group is nginx's without nginx joining any group of the gateway's, and another
// user can neither traverse the directory (others: no bits) nor write to the socket (others: none).
// nginx started as root runs its workers as an unprivileged user (nobody:nogroup on Debian with the
// shipped config, which sets no `user`); their group is read from a running worker, not guessed.
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface SocketDir {
  /** The directory (mode 2750). */
  readonly dir: string;
  /** The socket's path in it (not made here: the gateway binds it). */
  readonly path: string;
  /** Gives the directory to `gid` (nginx's workers' group); the mode stays 2750. */
  grant(gid: number): void;
  /** Removes the directory and whatever is in it. */
  remove(): void;
}

/**
 * A fresh socket directory under /tmp (not under /tmp/nginx*: the native nginx launcher rewrites
 * that prefix). Until grant() it belongs to this process's group.
 */
export function socketDir(name = 'gateway.sock'): SocketDir {
  const dir = mkdtempSync('/tmp/gw-uds-');
  chmodSync(dir, 0o2750);
  return {
    dir,
    path: join(dir, name),
    grant(gid) {
      chownSync(dir, process.getuid?.() ?? 0, gid);
      // chown clears the setgid bit on some systems: state the mode again.
      chmodSync(dir, 0o2750);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The real gid of a process (from /proc), e.g. an nginx worker's. */
export function gidOf(pid: number): number {
  const line = /^Gid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no Gid line in /proc/${pid}/status`);
  return Number(line[1]);
}

/** The gid nginx's workers run as: that of any process of `pids` but the master (the first). */
export function nginxWorkerGid(pids: number[]): number {
  const [master, ...workers] = pids;
  const worker = workers[0];
  if (master === undefined || worker === undefined) throw new Error('nginx has no worker process to read a gid from');
  return gidOf(worker);
}
