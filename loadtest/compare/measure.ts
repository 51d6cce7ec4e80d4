// One topology measured: its idle CPU, then each scenario of the run order
// (scenarios.ts) step by step, the rows and the knee taken from what the load
// generators (drivers.ts) report, the CPU of every window from one sampler.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Serving, TopologyName } from '@gw/harness';
import { type Drivers, k6, type Sampler, sampler, wrkCapacity } from './drivers.ts';
import { h2Windows } from './h2.ts';
import { note, noteRow, type Progress } from './progress.ts';
import { type Row, rowsOf, type TopologyInfo, wsRowOf } from './report.ts';
import { type Knobs, runOrder, type Scenario, type ScenarioName, type StepContext } from './scenarios.ts';

const isPython = (t: TopologyName) => t === 'gunicorn' || t === 'nginx-gunicorn';

/** What one topology's measurement needs from the run. */
export interface Run {
  k: Knobs;
  drivers: Drivers;
  out: string;
  asked: ScenarioName[];
  rows: Row[];
  progress: Progress;
  interrupted(): boolean;
}

/** One scenario's steps on `topo`; the knee, when the scenario measures it, goes into `ctx` and `info`. */
async function runScenario(run: Run, s: Scenario, topo: Serving, cpu: Sampler, ctx: StepContext, info: TopologyInfo) {
  const steps = s.steps(run.k, ctx);
  if (typeof steps === 'string') return note(steps);
  for (const step of steps) {
    run.progress.say(`${topo.name}: ${step.label}`);
    if (step.kind === 'h2load') {
      for (const row of await h2Windows(run.drivers, topo, cpu, step.plan)) {
        run.rows.push(row);
        noteRow(row);
      }
      continue;
    }
    if (step.kind === 'wrk') {
      const row = await wrkCapacity(run.drivers, topo, cpu, s.name);
      if (!row) continue;
      run.rows.push(row);
      noteRow(row);
      if (s.knee) {
        ctx.knee = row.rps;
        info.knee = Math.round(row.rps);
        info.kneeFound = true;
      }
      continue;
    }
    const dir = step.dir ? join(run.out, step.dir) : run.out;
    mkdirSync(dir, { recursive: true });
    const summary = await k6(run.drivers, step.script, topo, step.env, dir, s.planned(run.k));
    if (!summary || s.name === 'warmup') continue;
    const start = Date.parse(summary.meta.endedAt ?? '') - (summary.state?.testRunDurationMs ?? 0);
    const window = Number.isFinite(start)
      ? (from: number, dur: number) => cpu.between(start + from, start + from + dur)
      : undefined;
    const got = s.figures === 'ws' ? [wsRowOf(summary, window)] : rowsOf(summary, window);
    for (const r of got) {
      // The scenario's rows, whichever script made them (tls runs churn.js).
      run.rows.push({ ...r, scenario: s.name });
      noteRow(r);
    }
    if (s.knee) {
      info.kneeFound = summary.meta.kneeFound === true;
      const knee = Number(summary.meta.offeredRateAtStop ?? NaN);
      ctx.knee = Number.isFinite(knee) && knee > 0 ? knee : null;
      info.knee = ctx.knee;
      note(`knee ${ctx.knee ?? '?'} req/s${info.kneeFound ? '' : ' (not found: MAX_RATE reached)'}`);
    }
  }
}

/** Idle CPU, then every scenario of the run order on one started topology. */
export async function measure(run: Run, name: TopologyName, topo: Serving, info: TopologyInfo): Promise<void> {
  // What the topology uses with nothing offered (health checks, timers), over 3 s.
  const idle = topo.cpuSeconds();
  await sleep(3000);
  info.idleCpuPerS = (topo.cpuSeconds() - idle) / 3;
  const cpu = sampler(topo);
  const ctx: StepContext = { baseUrl: topo.baseUrl, python: isPython(name), knee: null };
  try {
    for (const s of runOrder(run.asked, run.k, isPython(name))) {
      if (run.interrupted()) break;
      run.progress.next();
      await runScenario(run, s, topo, cpu, ctx, info);
      run.progress.advance(s.planned(run.k) + 3);
    }
    // Capacity measured only for fixed-rate's knee is not reported.
    if (!run.asked.includes('capacity')) {
      const kept = run.rows.filter((r) => !(r.topology === name && r.scenario === 'capacity'));
      run.rows.splice(0, run.rows.length, ...kept);
    }
  } finally {
    cpu.stop();
  }
}
