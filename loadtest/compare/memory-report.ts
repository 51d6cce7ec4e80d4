// The memory run's report.md (memory.ts writes it beside memory.json): the summary table the
// README quotes, then every process's samples, then how it was measured.
import type { MemoryRun } from './memory.ts';

const f1 = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(1));
const mib = (kib: number | undefined) => (kib === undefined ? '–' : (kib / 1024).toFixed(1));

export function renderMemoryReport(run: MemoryRun): string {
  const s = run.settings;
  const lines = [
    `# Memory: master and workers, idle, under load, per idle keep-alive connection`,
    '',
    `${run.startedAt}, ${run.durationS.toFixed(0)} s; ${run.machine.cores} cores (${run.machine.cpuModel}), Linux ${run.machine.kernel}; ` +
      `Node ${run.versions.node}, PM2 ${run.versions.pm2}, gunicorn ${run.versions.gunicorn}, Flask ${run.versions.flask}, ` +
      `Python ${run.versions.python}.`,
    '',
    `${s.workers} workers each; servers on CPU ${s.serverCpus}, wrk and the sampler on CPU ${s.loadCpus}. ` +
      `Load: wrk -t1 -c${s.wrkConnections} on GET / for ${s.loadSeconds} s, memory sampled every 250 ms (the peak is kept). ` +
      `Idle connections: ${s.idleConnections}, each after one GET / answered, held 1 s.`,
    '',
    '## Summary (RSS in MiB unless said; a worker: the mean of the workers)',
    '',
    `| ${[
      'target',
      'master idle',
      'worker idle',
      'master under load (peak)',
      'worker under load (peak)',
      'Pss of all, idle',
      'Pss of all, under load',
      'per idle keep-alive connection, KiB (RSS / Pss)',
      'drift idle 1 s, KiB (RSS / Pss)',
      'kept open',
      'req/s under load',
    ].join(' | ')} |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of run.targets) {
    const m = t.summary;
    if (t.skipped || !m) {
      lines.push(`| ${t.name} | ${t.skipped ?? 'no figures'} | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${t.name} | ${f1(m.masterIdleMiB)} | ${f1(m.workerIdleMiB)} | ${f1(m.masterLoadMiB)} | ${f1(m.workerLoadMiB)} | ` +
        `${f1(m.totalPssIdleMiB)} | ${f1(m.totalPssLoadMiB)} | ${f1(m.perConnectionKiB)} / ${f1(m.perConnectionPssKiB)} | ` +
        `${t.driftKiB ? `${t.driftKiB.rss.toFixed(0)} / ${t.driftKiB.pss.toFixed(0)}` : '–'} | ` +
        `${t.connections.held} of ${t.connections.opened} | ${t.loadRps?.toFixed(0) ?? '–'} |`,
    );
  }
  lines.push('', '## Every process (MiB: RSS / Pss)', '');
  lines.push('| target | role | pid | idle | under load (peak) | before the connections | with them open |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const t of run.targets)
    for (const p of t.processes)
      lines.push(
        `| ${t.name} | ${p.role} | ${p.pid} | ${mib(p.idle.rssKiB)} / ${mib(p.idle.pssKiB)} | ` +
          `${mib(p.loadPeak.rssKiB)} / ${mib(p.loadPeak.pssKiB)} | ` +
          `${mib(p.beforeConnections.rssKiB)} / ${mib(p.beforeConnections.pssKiB)} | ` +
          `${mib(p.withConnections.rssKiB)} / ${mib(p.withConnections.pssKiB)} |`,
      );
  lines.push(
    '',
    '## How',
    '',
    "- RSS is VmRSS of /proc/PID/status: what `ps`, `top`, PM2 and the gateway's `--max-worker-memory` read. Pss is of " +
      '/proc/PID/smaps_rollup: each shared page divided among the processes that map it, so the Pss of a pool summed is what ' +
      'it holds, where RSS summed counts pages a master shares with workers it forked in every one of them.',
    `- The targets: ${run.targets.map((t) => `${t.name}: ${t.description}`).join('; ')}.`,
    '- Per idle keep-alive connection: the growth of the RSS (and Pss) of all the processes of a target, from a sample 5 s ' +
      'after the load to one taken 1 s after the last connection had its answer, divided by the connections still open ' +
      'then. Beside it, how much the same sum moved, idle, in the second before the connections were opened: a growth ' +
      'that small is within the noise. A Gunicorn sync worker closes every connection after its response ' +
      '(no keep-alive): nothing is held, no figure.',
    '',
  );
  return lines.join('\n');
}
