/**
 * The default worker count from the cgroup CPU quota (cpu-quota.ts), read from fixture trees that
 * stand for `/`: cgroup v2 cpu.max, v1 cfs quota and period, a hybrid host, nesting (the smallest
 * quota wins), a container without a cgroup namespace, no limit at all, and the cap by the CPUs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { cgroupCpuQuota, cpuWorkerCount } from '../src/cpu-quota.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A fake `/` holding `files` (path relative to the root -> content). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'gw-cgroup-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `${content}\n`);
  }
  return root;
}

test('cgroup v2: cpu.max "quota period" of the own cgroup, rounded up; "max" is no limit', () => {
  // docker run --cpus 1 (a cgroup namespace: the container's cgroup is "/").
  const one = tree({ 'proc/self/cgroup': '0::/', 'sys/fs/cgroup/cpu.max': '100000 100000' });
  assert.deepEqual(cgroupCpuQuota(one), { cpus: 1, source: 'cpu.max "100000 100000" at /sys/fs/cgroup/cpu.max' });
  assert.deepEqual(cpuWorkerCount(one, 8), {
    workers: 1,
    source: 'the cgroup CPU quota (cpu.max "100000 100000" at /sys/fs/cgroup/cpu.max)',
  });
  // 1.5 CPUs: two workers, each loop getting its share.
  const half = tree({ 'proc/self/cgroup': '0::/', 'sys/fs/cgroup/cpu.max': '150000 100000' });
  assert.equal(cpuWorkerCount(half, 8).workers, 2);
  // A quota below one CPU is still one worker.
  const tiny = tree({ 'proc/self/cgroup': '0::/', 'sys/fs/cgroup/cpu.max': '20000 100000' });
  assert.equal(cpuWorkerCount(tiny, 8).workers, 1);
  const unlimited = tree({ 'proc/self/cgroup': '0::/', 'sys/fs/cgroup/cpu.max': 'max 100000' });
  assert.equal(cgroupCpuQuota(unlimited), undefined);
  assert.deepEqual(cpuWorkerCount(unlimited, 8), { workers: 8, source: 'availableParallelism(): 8 CPUs' });
});

test('cgroup v2 nested (a Kubernetes pod and its container): the smallest quota on the way up wins', () => {
  const pod = 'kubepods.slice/kubepods-burstable.slice/pod1.slice';
  const root = tree({
    'proc/self/cgroup': `0::/${pod}/cri-containerd-abc.scope`,
    [`sys/fs/cgroup/${pod}/cpu.max`]: '200000 100000',
    [`sys/fs/cgroup/${pod}/cri-containerd-abc.scope/cpu.max`]: '400000 100000',
    'sys/fs/cgroup/kubepods.slice/cpu.max': 'max 100000',
  });
  assert.deepEqual(cgroupCpuQuota(root), {
    cpus: 2,
    source: `cpu.max "200000 100000" at /sys/fs/cgroup/${pod}/cpu.max`,
  });
});

test("a container without a cgroup namespace: its cgroup's path is not under the mount, the mount is its own", () => {
  const root = tree({
    'proc/self/cgroup': '0::/system.slice/docker-0123abcd.scope',
    'sys/fs/cgroup/cpu.max': '300000 100000',
  });
  assert.equal(cgroupCpuQuota(root)?.cpus, 3);
});

test('cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us (-1: no limit), whatever the mount is called', () => {
  const v1 = (mount: string, quota: string) =>
    tree({
      'proc/self/cgroup': '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc',
      [`sys/fs/cgroup/${mount}/cpu.cfs_quota_us`]: quota,
      [`sys/fs/cgroup/${mount}/cpu.cfs_period_us`]: '100000',
    });
  assert.deepEqual(cgroupCpuQuota(v1('cpu,cpuacct', '250000')), {
    cpus: 3,
    source: 'cpu.cfs_quota_us 250000 / cpu.cfs_period_us 100000 at /sys/fs/cgroup/cpu,cpuacct',
  });
  assert.equal(cgroupCpuQuota(v1('cpu', '100000'))?.cpus, 1);
  assert.equal(cgroupCpuQuota(v1('cpu', '-1')), undefined);
});

test('a hybrid host (a "0::" line, but the cpu controller on v1) reads v1', () => {
  const root = tree({
    'proc/self/cgroup': '1:cpu:/\n0::/',
    'sys/fs/cgroup/unified/cgroup.procs': '',
    'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '200000',
    'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
  });
  assert.equal(cgroupCpuQuota(root)?.cpus, 2);
});

test('the quota never gives more workers than the CPUs this process may run on', () => {
  const root = tree({ 'proc/self/cgroup': '0::/', 'sys/fs/cgroup/cpu.max': '800000 100000' });
  assert.deepEqual(cpuWorkerCount(root, 2), {
    workers: 2,
    source:
      'availableParallelism(): 2 CPUs; the cgroup CPU quota allows 8 (cpu.max "800000 100000" at /sys/fs/cgroup/cpu.max)',
  });
});

test('no cgroup files at all (not Linux, or /proc not mounted): the CPUs', () => {
  assert.equal(cgroupCpuQuota(tree({})), undefined);
  assert.deepEqual(cpuWorkerCount(tree({}), 3), { workers: 3, source: 'availableParallelism(): 3 CPUs' });
});
