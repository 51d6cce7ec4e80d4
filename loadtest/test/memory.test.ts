// The memory run's arithmetic (memory.ts summarize) and its report (memory-report.ts), on samples
// made up here; the sampler and the PM2 launcher it uses are tested on real processes in
// harness/test/memory.test.ts.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { type MemoryRun, type ProcessMemory, summarize } from '../compare/memory.ts';
import { renderMemoryReport } from '../compare/memory-report.ts';

const m = (rssMiB: number, pssMiB: number) => ({ rssKiB: rssMiB * 1024, pssKiB: pssMiB * 1024 });
const proc = (
  role: 'master' | 'worker',
  pid: number,
  idle: number,
  peak: number,
  before: number,
  withConns: number,
): ProcessMemory => ({
  role,
  pid,
  idle: m(idle, idle / 2),
  loadPeak: m(peak, peak / 2),
  beforeConnections: m(before, before / 2),
  withConnections: m(withConns, withConns / 2),
});

test('summarize: the master, the mean worker, the pool Pss, and the growth per connection held', () => {
  const processes = [
    proc('master', 1, 50, 51, 50, 50),
    proc('worker', 2, 80, 90, 88, 89),
    proc('worker', 3, 82, 94, 88, 90),
  ];
  const s = summarize(processes, 1000)!;
  assert.equal(s.masterIdleMiB, 50);
  assert.equal(s.workerIdleMiB, 81);
  assert.equal(s.masterLoadMiB, 51);
  assert.equal(s.workerLoadMiB, 92);
  assert.equal(s.totalPssIdleMiB, (50 + 80 + 82) / 2);
  assert.equal(s.totalPssLoadMiB, (51 + 90 + 94) / 2);
  // 3 MiB more over 1,000 connections: 3.072 KiB each.
  assert.equal(s.perConnectionKiB, (3 * 1024) / 1000);
  assert.equal(s.perConnectionPssKiB, (1.5 * 1024) / 1000);
  // Nothing held (a server that closes after each answer): no per-connection figure.
  assert.equal(summarize(processes, 0)!.perConnectionKiB, null);
  // Without a master or without workers there is nothing to summarize.
  assert.equal(summarize(processes.slice(1), 10), null);
  // A kernel without smaps_rollup: no Pss figures, RSS ones still.
  const noPss = processes.map((p) => ({ ...p, idle: { ...p.idle, pssKiB: undefined } }));
  assert.equal(summarize(noPss, 1000)!.totalPssIdleMiB, null);
  assert.equal(summarize(noPss, 1000)!.workerIdleMiB, 81);
});

test('renderMemoryReport: one summary row per target, a skipped one says why', () => {
  const processes = [proc('master', 1, 50, 51, 50, 50), proc('worker', 2, 80, 90, 88, 89)];
  const run: MemoryRun = {
    kind: 'memory',
    startedAt: '2026-12-02T00:00:00Z',
    durationS: 60,
    machine: { cores: 2, cpuModel: 'test CPU', kernel: '6.1' },
    versions: { node: 'v20', pm2: '7', gunicorn: '20', flask: '3', python: '3.11' },
    settings: {
      workers: 2,
      loadSeconds: 10,
      wrkConnections: 50,
      idleConnections: 1000,
      serverCpus: '1',
      loadCpus: '0',
    },
    targets: [
      {
        name: 'gateway',
        description: 'the gateway',
        processes,
        loadRps: 12345,
        connections: { opened: 1000, held: 1000 },
        driftKiB: { rss: 4, pss: -2 },
        summary: summarize(processes, 1000),
      },
      {
        name: 'gunicorn',
        description: 'Gunicorn',
        skipped: 'no gunicorn here',
        processes: [],
        loadRps: null,
        connections: { opened: 0, held: 0 },
        driftKiB: null,
        summary: null,
      },
    ],
  };
  const md = renderMemoryReport(run);
  assert.match(
    md,
    /^\| gateway \| 50\.0 \| 80\.0 \| 51\.0 \| 90\.0 \| 65\.0 \| 70\.5 \| 1\.0 \/ 0\.5 \| 4 \/ -2 \| 1000 of 1000 \| 12345 \|$/m,
  );
  assert.match(md, /^\| gunicorn \| no gunicorn here \|/m);
  assert.match(md, /^\| gateway \| worker \| 2 \| 80\.0 \/ 40\.0 \|/m);
});
