// A container's CPU seconds and processes, seen from the host: its cgroup's
// accounting file (cgroup v2 `cpu.stat` usage_usec, or v1 `cpuacct.usage` in ns),
// found from /proc/<container's pid>/cgroup and the usual places under
// /sys/fs/cgroup; where none of that exists, its processes (`docker top`, host
// pids) counted from /proc (procstat.ts). A cgroup counts everything in the
// container, Docker's health-check execs included.
import { readFileSync } from 'node:fs';
import { sh } from './compose.ts';
import { cpuCounter } from './procstat.ts';

/**
 * Candidate CPU accounting files of a container, best first: from its
 * /proc/<pid>/cgroup text (v2 `0::/path`, v1 `N:…cpuacct…:/path`), then the
 * usual places of the systemd and cgroupfs drivers.
 */
export function cgroupCpuFiles(procCgroup: string, id: string, root = '/sys/fs/cgroup'): string[] {
  const out: string[] = [];
  for (const line of procCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line.trim());
    if (!m) continue;
    const [, , controllers, path] = m;
    if (controllers === '' && path !== '/') out.push(`${root}${path}/cpu.stat`, `${root}/unified${path}/cpu.stat`);
    else if (controllers!.split(',').includes('cpuacct') && path !== '/') {
      out.push(
        `${root}/${controllers}${path}/cpuacct.usage`,
        `${root}/cpuacct${path}/cpuacct.usage`,
        `${root}/cpu,cpuacct${path}/cpuacct.usage`,
      );
    }
  }
  out.push(
    `${root}/system.slice/docker-${id}.scope/cpu.stat`,
    `${root}/docker/${id}/cpu.stat`,
    `${root}/cpuacct/docker/${id}/cpuacct.usage`,
    `${root}/cpu,cpuacct/docker/${id}/cpuacct.usage`,
    `${root}/cpuacct/system.slice/docker-${id}.scope/cpuacct.usage`,
    `${root}/cpu,cpuacct/system.slice/docker-${id}.scope/cpuacct.usage`,
  );
  return [...new Set(out)];
}

/** CPU seconds in a cgroup accounting file's text: `cpu.stat` (usage_usec) or `cpuacct.usage` (ns). */
export function parseCgroupCpu(file: string, text: string): number {
  if (file.endsWith('cpu.stat')) {
    const m = /^usage_usec (\d+)$/m.exec(text);
    if (!m) throw new Error(`${file}: no usage_usec`);
    return Number(m[1]) / 1e6;
  }
  const n = Number(text.trim());
  if (!Number.isFinite(n)) throw new Error(`${file}: not a number`);
  return n / 1e9;
}

const readText = (f: string): string | undefined => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
};

/** The first candidate that exists and parses, or undefined. */
export function findCgroupCpuFile(
  candidates: string[],
  read: (f: string) => string | undefined = readText,
): string | undefined {
  for (const f of candidates) {
    const text = read(f);
    if (text === undefined) continue;
    try {
      parseCgroupCpu(f, text);
      return f;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The container's processes now, as host pids (`docker top`'s PID column). */
export function containerPids(id: string): number[] {
  return sh('docker', ['top', id, '-eo', 'pid'], { timeoutMs: 10_000 })
    .stdout.split('\n')
    .slice(1)
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

/** A container's cumulative CPU seconds: its cgroup file, or its processes from /proc. */
export function containerCpu(id: string): { source: string; read(): number } {
  const pid = sh('docker', ['inspect', '--format', '{{.State.Pid}}', id]).stdout.trim();
  const file = findCgroupCpuFile(cgroupCpuFiles(readText(`/proc/${pid}/cgroup`) ?? '', id));
  if (file) {
    let last = 0;
    return {
      source: file,
      read: () => {
        try {
          last = parseCgroupCpu(file, readFileSync(file, 'utf8'));
        } catch {
          /* removed with the container: the last figure stays */
        }
        return last;
      },
    };
  }
  // Processes born later (health checks) are found by listing again, at most every 2 s.
  let cache = containerPids(id);
  let at = Date.now();
  const counter = cpuCounter(() => {
    if (Date.now() - at > 2000) {
      cache = containerPids(id);
      at = Date.now();
    }
    return cache;
  });
  return { source: 'docker top + /proc', read: counter };
}
