// CPU accounting from /proc: the process tree under a pid, and the CPU seconds
// (utime + stime) a set of processes has used. Every launcher's cpuSeconds() and
// the benchmarks count CPU with these, so all count it the same way.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second (USER_HZ): the unit of utime/stime in /proc/<pid>/stat. */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parens). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  } // exited
}

/** Every live process below `root` (inclusive), from /proc. */
export function tree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    // fields[0] is the state, fields[1] the ppid.
    if (f) parent.set(Number(d), Number(f[1]));
  }
  if (!parent.has(root)) return [];
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid);
  return out;
}

/** utime + stime of the processes, in seconds (processes that have exited count 0). */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    // utime and stime are fields 14 and 15 of stat; 11 and 12 after the name.
    if (f) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLK_TCK;
}

/** Per-pid CPU seconds, to take a difference that ignores processes born in between. */
export function cpuSnapshot(pids: number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, cpuSeconds([pid])]));
}

/**
 * CPU seconds used between two snapshots. A process present only in `after`
 * (a respawned worker) counts from zero; one gone by then is lost, which is why
 * callers snapshot the tree right before and right after a run.
 */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, s] of after) total += s - (before.get(pid) ?? 0);
  return total;
}

/**
 * A cumulative CPU counter over a changing set of processes: each call lists
 * `pids()` and returns the CPU seconds they have used since the first call.
 * Processes present at the first call count from their value then; a process
 * that appears later (a respawned worker) counts from zero; one that exits
 * keeps what it had used when last seen. Differences of two calls are what a
 * step used.
 */
export function cpuCounter(pids: () => number[]): () => number {
  const base = new Map<number, number>();
  const last = new Map<number, number>();
  let first = true;
  return () => {
    for (const pid of pids()) {
      const v = cpuSeconds([pid]);
      if (!last.has(pid)) base.set(pid, first ? v : 0);
      // /proc gone between listing and reading: keep the last value.
      if (v >= (last.get(pid) ?? 0)) last.set(pid, v);
    }
    first = false;
    let total = 0;
    for (const [pid, v] of last) total += v - (base.get(pid) ?? 0);
    return total;
  };
}
