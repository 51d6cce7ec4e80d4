// What the shipped nginx config costs beyond the least nginx can do (issue 21): each nginx
// topology's capacity and CPU per request as a ratio to the minimal proxy over the same transport
// (nginx/minimal.conf in front of the same gateway), from the run's capacity rows (wrk). The target
// is the shipped config at 0.95× the minimal proxy's throughput or better; the report says by how
// much a pair misses it. Pure: the report (report.ts) and the README figures test read it.
import type { Row } from './rows.ts';

/** [shipped, minimal] over the same transport. `full-uds` is the unix-socket `full` (helper uds). */
export const PROXY_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['full', 'minimal'],
  ['full-uds', 'minimal-uds'],
];
export const PROXY_TARGET = 0.95;

export interface ProxyCost {
  shipped: string;
  minimal: string;
  rps: [number, number];
  cpuPer1k: [number | null, number | null];
  rpsRatio: number;
  cpuRatio: number | null;
}

/** The pairs of which both ran the capacity step, with their ratios. */
export function proxyCosts(rows: Row[]): ProxyCost[] {
  const capacity = (t: string) => rows.find((r) => r.topology === t && r.scenario === 'capacity');
  return PROXY_PAIRS.flatMap(([shipped, minimal]) => {
    const [s, m] = [capacity(shipped), capacity(minimal)];
    if (!s || !m) return [];
    const cpuRatio = s.cpuPer1k !== null && m.cpuPer1k !== null ? s.cpuPer1k / m.cpuPer1k : null;
    return [
      { shipped, minimal, rps: [s.rps, m.rps], cpuPer1k: [s.cpuPer1k, m.cpuPer1k], rpsRatio: s.rps / m.rps, cpuRatio },
    ];
  });
}

/** The report's section (nothing when no pair ran). */
export function proxyCostSection(rows: Row[]): string[] {
  const costs = proxyCosts(rows);
  if (costs.length === 0) return [];
  const f = (n: number | null, d: number) => (n === null ? '–' : n.toFixed(d));
  return [
    '## The shipped nginx config vs the minimal proxy',
    '',
    'Capacity (wrk) and CPU s per 1,000 requests (nginx and gateway together) of each shipped-config topology, ' +
      `as a ratio to nginx/minimal.conf in front of the same gateway over the same transport; target ≥ ${PROXY_TARGET}×.`,
    '',
    '| shipped | minimal | req/s shipped / minimal | capacity ratio | CPU s / 1k shipped / minimal | CPU ratio |',
    '| --- | --- | --- | --- | --- | --- |',
    ...costs.map(
      (c) =>
        `| ${c.shipped} | ${c.minimal} | ${f(c.rps[0], 0)} / ${f(c.rps[1], 0)} | ${f(c.rpsRatio, 2)}× ` +
        `${c.rpsRatio >= PROXY_TARGET ? '(target met)' : `(${f((PROXY_TARGET - c.rpsRatio) * 100, 0)} points short)`} | ` +
        `${f(c.cpuPer1k[0], 4)} / ${f(c.cpuPer1k[1], 4)} | ${f(c.cpuRatio, 2)}× |`,
    ),
    '',
  ];
}
