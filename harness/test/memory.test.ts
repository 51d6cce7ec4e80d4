// The memory sampler (memory.ts) on real processes, and the PM2 launcher (pm2.ts): it serves, its
// daemon and instances are the pids it names, and stop() leaves none of them and no PM2_HOME.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import {
  launch,
  memoryOf,
  missingBuild,
  pm2Unavailable,
  pollFor,
  request,
  sampleMemory,
  startPm2,
  vanished,
} from '@gw/harness';

test('memoryOf reads VmRSS and Pss of a live process, and nothing of one that has exited', async () => {
  const self = memoryOf(process.pid);
  assert.ok(self, 'this process has a status file');
  // VmRSS as /proc/self/status has it, and this process's own count of its resident set agree.
  const own = process.memoryUsage.rss() / 1024;
  assert.ok(self.rssKiB > 0 && Math.abs(self.rssKiB - own) / own < 0.25, `${self.rssKiB} KiB vs ${own} KiB`);
  if (existsSync('/proc/self/smaps_rollup')) assert.ok(self.pssKiB !== undefined && self.pssKiB > 0);
  // A child that touches 64 MiB it keeps: its RSS holds them.
  const child = launch([
    process.execPath,
    '-e',
    'const b = Buffer.alloc(64 * 2 ** 20, 1); process.stderr.write("held\\n"); setInterval(() => b[0]++, 1000);',
  ]);
  try {
    await pollFor(
      'the child to hold its buffer',
      async () => (child.stderr().includes('held') ? true : undefined),
      10_000,
      50,
    );
    const m = memoryOf(child.pid);
    assert.ok(m && m.rssKiB >= 64 * 1024, `child RSS ${m?.rssKiB} KiB holds its 64 MiB`);
    const peaks = sampleMemory([child.pid, process.pid], 20).stop();
    assert.ok((peaks.get(child.pid)?.peakRssKiB ?? 0) >= 64 * 1024);
    assert.ok(peaks.has(process.pid));
  } finally {
    await child.stop();
  }
  assert.equal(memoryOf(child.pid), undefined, 'an exited process has no memory to read');
});

test('startPm2: PM2 cluster mode serves the app from its instances, and stop() leaves nothing', {
  skip: pm2Unavailable() ?? false,
  timeout: 90_000,
}, async () => {
  assert.equal(missingBuild(), undefined);
  const p = await startPm2({ instances: 2 });
  let pids: number[] = [];
  try {
    pids = p.pids();
    assert.equal(pids[0], p.daemonPid, 'the daemon first');
    assert.equal(p.workerPids().length, 2, 'two instances below the daemon');
    const seen = new Set<number>();
    // The instances answer (whoami names the serving pid); the daemon itself serves nothing.
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const r = await request(`${p.baseUrl}/whoami`, { headers: { connection: 'close' } });
      assert.equal(r.status, 200);
      seen.add((JSON.parse(r.body) as { pid: number }).pid);
    }
    for (const pid of seen) assert.ok(p.workerPids().includes(pid), `pid ${pid} is one of the instances`);
  } finally {
    await p.stop();
  }
  assert.deepEqual(vanished(pids), pids, 'daemon and instances are gone');
});
