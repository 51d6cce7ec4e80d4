/**
 * How many CPUs this process may use, for the default worker count: the cgroup CPU quota (what
 * `docker run --cpus 2` and a Kubernetes CPU limit set), not the host's cores, which a container
 * sees all of. cgroup v2 `cpu.max` ("200000 100000": quota and period, or "max 100000"), cgroup v1
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: none). Every level from the process's own cgroup
 * up to the root counts (a Kubernetes pod's limit sits on the pod's cgroup, the container's below
 * it): the smallest quota wins. `root` is a directory standing for `/`, so tests read fixtures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

export interface CpuQuota {
  /** ceil(quota / period): a quota of 1.5 CPUs is 2 workers, each loop getting its share. */
  cpus: number;
  /** Where it was read, for `--print-config`: `cpu.max "150000 100000" at /sys/fs/cgroup/cpu.max`. */
  source: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The directories of a cgroup path below a controller's mount, deepest first, up to the mount
 * itself. Without a cgroup namespace a container sees its cgroup as `/docker/<id>` while its own
 * cgroup is mounted at the mount point: the levels that do not exist are skipped.
 */
function levels(mount: string, cgroupPath: string): string[] {
  const parts = cgroupPath.split('/').filter(Boolean);
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) dirs.push(join(mount, ...parts.slice(0, n)));
  return dirs.filter((d) => existsSync(d));
}

type Reader = (dir: string) => { quota: number; period: number; text: string; file: string } | undefined;

const v2: Reader = (dir) => {
  const file = join(dir, 'cpu.max');
  const text = read(file);
  const m = text === undefined ? null : /^(max|\d+)\s+(\d+)$/.exec(text);
  if (!m || m[1] === 'max') return undefined;
  return { quota: Number(m[1]), period: Number(m[2]), text: `cpu.max "${text}"`, file };
};

const v1: Reader = (dir) => {
  const quota = Number(read(join(dir, 'cpu.cfs_quota_us')));
  const period = Number(read(join(dir, 'cpu.cfs_period_us')));
  if (!(quota > 0) || !(period > 0)) return undefined;
  return { quota, period, text: `cpu.cfs_quota_us ${quota} / cpu.cfs_period_us ${period}`, file: dir };
};

/** The smallest quota over the levels, or undefined when none is set. */
function smallest(dirs: string[], reader: Reader, root: string): CpuQuota | undefined {
  let best: CpuQuota | undefined;
  let bestRatio = Number.POSITIVE_INFINITY;
  for (const dir of dirs) {
    const q = reader(dir);
    if (!q || q.period <= 0 || q.quota / q.period >= bestRatio) continue;
    bestRatio = q.quota / q.period;
    const shown = `/${q.file.slice(root.length).replace(/^\/+/, '')}`;
    best = { cpus: Math.max(1, Math.ceil(bestRatio)), source: `${q.text} at ${shown}` };
  }
  return best;
}

/** The CPU quota of this process's cgroup (v2, else v1), or undefined when there is none. */
export function cgroupCpuQuota(root = '/'): CpuQuota | undefined {
  const lines = (read(join(root, 'proc/self/cgroup')) ?? '').split('\n');
  const cgroupFs = join(root, 'sys/fs/cgroup');
  // v2: "0::/path". A hybrid host also has it, with no cpu controller there: no cpu.max, then v1.
  const unified = lines.find((l) => l.startsWith('0::'));
  if (unified !== undefined) {
    const found = smallest(levels(cgroupFs, unified.slice(3)), v2, root);
    if (found) return found;
  }
  // v1: "4:cpu,cpuacct:/path", the cpu controller mounted as cpu, cpu,cpuacct or cpuacct,cpu.
  for (const line of lines) {
    const [, controllers = '', path = '/'] = line.split(':');
    if (!controllers.split(',').includes('cpu')) continue;
    for (const name of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']) {
      const found = smallest(levels(join(cgroupFs, name), path), v1, root);
      if (found) return found;
    }
  }
  return undefined;
}

export interface WorkerCount {
  workers: number;
  /** Where the number comes from, in words (`--print-config` shows it as `workers_source`). */
  source: string;
}

/**
 * The default worker count: WEB_CONCURRENCY when set (parsed by the caller), else the cgroup CPU
 * quota capped by the CPUs this process may run on (affinity: `taskset`, `--cpuset-cpus`), else
 * those CPUs.
 */
export function cpuWorkerCount(root = '/', parallelism = availableParallelism()): WorkerCount {
  const quota = cgroupCpuQuota(root);
  if (quota && quota.cpus < parallelism)
    return { workers: quota.cpus, source: `the cgroup CPU quota (${quota.source})` };
  const capped = quota ? `; the cgroup CPU quota allows ${quota.cpus} (${quota.source})` : '';
  return { workers: parallelism, source: `availableParallelism(): ${parallelism} CPUs${capped}` };
}
