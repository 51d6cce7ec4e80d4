// The one contract for "a process or a stack I started": the gateway, the app's own
// server, nginx, a native topology of several of them, a compose profile, a bench
// target. Runners, benches, reliability faults and tests all take a Serving, so a
// check or a load is written once and run against any of them. Launchers return
// extensions of it (more members), never another shape.
//
//   const s = await startTopology('full');
//   const before = s.cpuSeconds();
//   await fetch(`${s.baseUrl}/`);
//   console.log(s.cpuSeconds() - before, s.pids());
//   await s.stop();
import { cpuCounter } from './procstat.ts';

export interface Serving {
  /** What it is, for logs and reports: a topology name, 'gateway', a bench target's label. */
  readonly name: string;
  /** http(s)://HOST:PORT, no trailing slash: where clients send requests. */
  readonly baseUrl: string;
  /**
   * Host names in baseUrl that only the harness can resolve (a container's service name), each
   * with the address it stands for; absent when baseUrl's host is an address.
   */
  readonly hosts?: Readonly<Record<string, string>>;
  /** Every process serving, listed now (host pids; processes that exited are gone from it). */
  pids(): number[];
  /** CPU seconds all of it has used since it started serving, cumulative: take differences. */
  cpuSeconds(): number;
  /**
   * Stops everything, gracefully first; resolves once it is gone (with an exit code where there is
   * one process: the gateway's). Safe to call more than once.
   */
  stop(): Promise<unknown>;
}

/** A Serving over a set of processes: its CPU counted from /proc (procstat.ts), from now on. */
export function servingOf(
  name: string,
  baseUrl: string,
  pids: () => number[],
  stop: () => Promise<void>,
): Serving & { stop(): Promise<void> } {
  const cpuSeconds = cpuCounter(pids);
  cpuSeconds();
  let stopping: Promise<void> | undefined;
  return { name, baseUrl, pids, cpuSeconds, stop: () => (stopping ??= stop()) };
}

/** Where to open a TCP connection to reach `s`, and the Host header that names it. */
export function endpoint(s: Pick<Serving, 'baseUrl' | 'hosts'>): { host: string; port: number; hostHeader: string } {
  const url = new URL(s.baseUrl);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const name = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host: s.hosts?.[name] ?? name, port, hostHeader: url.hostname };
}

/** The pids of `before` that are no longer alive: crash evidence where there is no log to read. */
export function vanished(before: Iterable<number>): number[] {
  return [...before].filter((pid) => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}
