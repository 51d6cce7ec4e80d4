// The comparison runner: brings up each topology in turn (natively: local
// processes and the distribution's nginx; or with --mode compose: the project's
// images and compose profiles on a Docker engine), runs the same k6 scenarios
// against each, and writes loadtest/results/runs/<timestamp>/ (raw k6 summaries,
// run.json, report.md, SVG charts) and points the symlink loadtest/results/latest
// (native) or latest-compose (a complete compose run) at it; see results.ts.
//
//   npm run compare
//   npm run compare -- --topologies gateway,full --scenarios fixed-rate,static --duration 30
//   npm run compare -- --mode compose        (or --mode auto: compose where it can run)
//   npm run compare -- --topologies gateway-tls,full-tls,gateway,full --scenarios tls,ws --duration 8
//     (TLS at the gateway vs at nginx, and WebSocket echo; a tls/ws/h2-only run is linked as results/latest-tls)
//   npm run compare -- --topologies gateway-tls,full-tls --scenarios h2
//     (HTTP/2 vs HTTP/1.1 at the gateway, and the gateway's h2 vs nginx's h2 in front of it: h2load, h2.ts)
//   npm run compare -- --scenarios balance
//     (worker balance, shared socket vs --reuse-port, on the image's Node: balance.ts)
//
// Fairness: every serving process of a topology (nginx included) is pinned to
// --server-cpus (default core 1), k6 and this runner to --load-cpus (core 0), so
// each topology has the same one-core budget and its CPU seconds include nginx's.
// Each topology is warmed up, then its knee is measured (capacity ramp), and the
// latency steps run at fractions of that knee, i.e. below it. The whole run holds
// /tmp/gw-measure.lock (flock) so it never overlaps other measurements.
//
// What each scenario runs is the table in scenarios.ts; the load generators are in
// drivers.ts, the report's prose in settings.ts; the topologies come from
// @gw/harness (native) or containers.ts (compose).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus as osCpus, release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { composeCli, endpoint, onPath, type Serving, startTopology, TOPOLOGIES, type TopologyName } from '@gw/harness';
import { runBalance } from './balance.ts';
import {
  buildImages,
  COMPOSE_EXTRA_TOPOLOGIES,
  COMPOSE_PROJECT,
  COMPOSE_TOPOLOGIES,
  type ComposeTopologyName,
  composeUnavailable,
  downAll,
  STACK_IMAGE,
  STACK_TAG,
  startComposeTopology,
} from './containers.ts';
import { type Drivers, K6 } from './drivers.ts';
import { measure, type Run } from './measure.ts';
import { runMemory } from './memory.ts';
import { type Options, parseOptions, selection } from './options.ts';
import { clock, note, Progress } from './progress.ts';
import { type Row, type RunInfo, renderReport, type TopologyInfo } from './report.ts';
import { newRunDir, pointLatest, RESULTS_DIR } from './results.ts';
import { type Knobs, runOrder } from './scenarios.ts';
import { runSettings } from './settings.ts';
import { DESCRIPTIONS, unavailable, versions } from './topologies.ts';

const LOCK = '/tmp/gw-measure.lock';
/** In compose mode, the Python reference has no image: skipped unless named, then run natively and labeled. */
const PYTHON_IN_COMPOSE =
  'no image (Python reference): see results/published/native/, or name it in --topologies to run it natively here';
const isPython = (t: TopologyName) => t === 'gunicorn' || t === 'nginx-gunicorn';
const isComposeTopology = (t: string): t is ComposeTopologyName =>
  [...COMPOSE_TOPOLOGIES, ...COMPOSE_EXTRA_TOPOLOGIES].includes(t as ComposeTopologyName);

/** Re-runs this script under flock(1) on the measurement lock (unless --no-lock); returns in the process that holds it. */
async function holdLock(o: Options): Promise<void> {
  if (o.noLock || process.env.COMPARE_LOCKED === '1' || !onPath('flock')) return;
  process.stderr.write(`compare: waiting for ${LOCK} (other measurements in progress?)\n`);
  const child = spawn('flock', [LOCK, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, COMPARE_LOCKED: '1' },
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  await new Promise(() => {});
}

/** Compose or native, and why (exits 2 when compose was asked for and cannot run). */
function resolveMode(o: Options): { compose: boolean; why: string } {
  if (o.mode === 'native') return { compose: false, why: '' };
  const why = composeUnavailable();
  if (why && o.mode === 'compose') {
    console.error(`compare: --mode compose cannot run here: ${why}`);
    process.exit(2);
  }
  if (o.mode === 'compose') return { compose: true, why: 'asked for with --mode compose' };
  return why
    ? { compose: false, why: `auto: native, because ${why}` }
    : { compose: true, why: 'auto: compose, a Docker engine answers and the images are built or buildable' };
}

/** The run folder: --out, or a new loadtest/results/runs/<timestamp>/ (never an existing one). */
function runFolder(o: Options): string {
  const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
  const OUT = o.out ?? newRunDir(RESULTS_DIR, stamp);
  mkdirSync(join(OUT, 'logs'), { recursive: true });
  mkdirSync(join(OUT, 'warmup'), { recursive: true });
  return OUT;
}

/** Versions of what serves: the host's, or in compose mode the images' own node and nginx too. */
function servingVersions(compose: boolean, composeCmd: string): Record<string, string> {
  const v = versions();
  if (!compose) return v;
  // What serves in the containers (the host's node and nginx do not).
  const inImage = (image: string, argv: string[]) => {
    const run = ['run', '--rm', '--network', 'none', '--entrypoint', argv[0]!, image, ...argv.slice(1)];
    const r = spawnSync('docker', run, { encoding: 'utf8', timeout: 60_000 });
    return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : '?';
  };
  const stdout = (cmd: string, args: string[]) => (spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '').trim();
  const [cli, ...sub] = composeCmd.split(' ');
  return {
    ...v,
    node: `${inImage(`${STACK_IMAGE}:${STACK_TAG}`, ['node', '--version'])} (image)`,
    nginx: `${inImage(`${STACK_IMAGE}-nginx:${STACK_TAG}`, ['nginx', '-v']).replace(/^nginx version: /, '')} (image)`,
    docker: stdout('docker', ['version', '--format', '{{.Server.Version}}']),
    compose: stdout(cli!, [...sub, 'version', '--short']),
  };
}

/** The run's report: run.json, report.md and the charts in the run folder. */
function writeReport(out: string, info: RunInfo): void {
  const report = renderReport(info);
  writeFileSync(join(out, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
  writeFileSync(join(out, 'report.md'), report.markdown);
  for (const [file, svg] of Object.entries(report.charts)) writeFileSync(join(out, file), svg);
}

/**
 * Points a link at the run (results.ts: the link moves, no folder is deleted):
 * native → latest; compose → latest-compose, and only from a complete run (every compose
 * topology measured, not interrupted): a partial run never replaces a whole one. A run of only
 * tls/ws is linked as latest-tls (never over the full native run's latest); --latest-name picks another.
 * Returns the folder's name when it was written, and what the done line adds.
 */
function copyLatest(o: Options, OUT: string, compose: boolean, complete: boolean, onlyTlsWs: boolean): string {
  const latestName =
    o.latestName ?? (compose ? (complete ? 'latest-compose' : undefined) : onlyTlsWs ? 'latest-tls' : 'latest');
  const copy = !o.noLatest && o.out === undefined && latestName !== undefined;
  if (copy) {
    pointLatest(RESULTS_DIR, latestName!, OUT);
    return ` (and loadtest/results/${latestName})`;
  }
  return compose && !complete ? ' (incomplete compose run: latest-compose/ left as it was)' : '';
}

async function main(): Promise<void> {
  const o = parseOptions();
  await holdLock(o);
  // The memory figures are a run of their own (memory.ts): other targets (PM2), no k6.
  if (o.scenarios === 'memory') return runMemory(o);
  // Worker balance (balance.ts): the gateway alone with wrk, no k6 and no topologies; on its own.
  if (o.scenarios === 'balance') {
    const cpus = ['--server-cpus', o.serverCpus, '--load-cpus', o.loadCpus];
    await runBalance([...cpus, ...(process.argv.includes('--duration') ? ['--duration', String(o.duration)] : [])]);
    return;
  }
  const hasWrk = onPath('wrk');
  const mode = resolveMode(o);
  const { topologies, scenarios } = selection(o, mode.compose ? COMPOSE_TOPOLOGIES : TOPOLOGIES);
  const hasK6 = spawnSync(K6, ['version'], { stdio: 'ignore' }).status === 0;
  // Counted before this process pins itself (availableParallelism follows the affinity mask).
  const cores = availableParallelism();
  const hasTaskset = onPath('taskset');
  // This process samples CPU during the runs: keep it off the servers' core too.
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', o.loadCpus, String(process.pid)], { stdio: 'ignore' });
  const OUT = runFolder(o);

  // An h2-only run warms up with its own h2load windows: without k6 it skips k6's warm-up instead of stopping.
  const k: Knobs = { ...o, hasWrk, ...(!hasK6 && scenarios.every((s) => s === 'h2') ? { warmup: 0 } : {}) };
  /** Why a topology is not measured in this run, or undefined. */
  const whyNot = (t: TopologyName) => (mode.compose && isComposeTopology(t) ? undefined : unavailable(t));
  const runnable = topologies.filter((t) => !whyNot(t));
  const plan = runnable.flatMap((t) => runOrder(scenarios, k, isPython(t)));
  // k6 only where a step needs it: capacity alone is wrk's (where wrk is), so with --warmup 0 a
  // capacity run needs no k6; h2 is h2load's.
  const needsK6 = plan.some((s) => s.name !== 'h2' && (s.name !== 'capacity' || !hasWrk));
  if (needsK6 && !hasK6) {
    console.error(`compare: no k6 (${K6}) on PATH (a capacity-only run with --warmup 0 needs only wrk)`);
    process.exit(2);
  }
  const progress = new Progress(
    plan.length,
    plan.reduce((a, s) => a + s.planned(k) + 3, 0),
  );
  const infos: TopologyInfo[] = [];
  const rows: Row[] = [];
  const t0 = Date.now();
  const cpuModel =
    /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? osCpus()[0]?.model ?? 'unknown CPU';
  const k6Version = (hasK6 ? (spawnSync(K6, ['version'], { encoding: 'utf8' }).stdout ?? '') : '')
    .trim()
    .replace(/^k6 (v\S+).*/s, '$1');

  process.stderr.write(
    `compare: mode ${mode.compose ? 'compose' : 'native'}${mode.why ? ` (${mode.why})` : ''}; ` +
      `${runnable.join(', ') || 'nothing'} × ${scenarios.join(', ')}; ${o.duration}s per step; ` +
      `servers on CPU ${o.serverCpus}, k6 on CPU ${o.loadCpus}; about ${clock(progress.plannedTotal)} planned → ${OUT}\n`,
  );
  for (const t of topologies) {
    const why = whyNot(t);
    if (why) {
      process.stderr.write(`        skipping ${t}: ${why}\n`);
      infos.push({ name: t, description: DESCRIPTIONS[t], knee: null, kneeFound: false, skipped: why });
    }
  }
  if (mode.compose && o.topologies === undefined) {
    for (const t of ['gunicorn', 'nginx-gunicorn'] as const)
      infos.push({ name: t, description: DESCRIPTIONS[t], knee: null, kneeFound: false, skipped: PYTHON_IN_COMPOSE });
  }

  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('compare: interrupted; stopping after this step (Ctrl-C again to quit now)\n');
  });
  process.on('SIGTERM', () => {
    interrupted = true;
    process.exit(143);
  });
  // Whatever way this process ends (an error, a second Ctrl-C, SIGTERM), the
  // project's containers and networks go with it.
  let composeUp = false;
  process.on('exit', () => {
    if (mode.compose && composeUp) {
      process.stderr.write(`compare: taking down compose project ${COMPOSE_PROJECT}\n`);
      downAll();
    }
  });

  let buildS: number | null = null;
  const composeCmd = mode.compose ? composeCli()!.join(' ') : '';
  if (mode.compose) {
    // Leftovers of an earlier run that was killed: down first.
    composeUp = true;
    downAll();
    progress.say(
      `building the images once (${composeCmd} build, legacy builder: DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0; ` +
        `${STACK_IMAGE}:${STACK_TAG}, ${STACK_IMAGE}-nginx:${STACK_TAG})`,
    );
    try {
      buildS = buildImages();
    } catch (error) {
      console.error(`compare: build failed: ${(error as Error).message}`);
      process.exit(1);
    }
    note(`built in ${buildS.toFixed(0)} s`);
  }

  const drivers: Drivers = {
    out: OUT,
    loadCpus: hasTaskset ? o.loadCpus : undefined,
    connections: o.connections,
    duration: o.duration,
    note,
  };
  const run: Run = { k, drivers, out: OUT, asked: scenarios, rows, progress, interrupted: () => interrupted };
  for (const name of runnable) {
    if (interrupted) break;
    const info: TopologyInfo = { name, description: DESCRIPTIONS[name], knee: null, kneeFound: false };
    infos.push(info);
    let topo: Serving;
    try {
      topo = await start(name, o, { compose: mode.compose, composeCmd, hasTaskset, progress });
      if (mode.compose && !isComposeTopology(name)) info.description += ' [native: no image]';
    } catch (error) {
      info.skipped = `failed to start: ${(error as Error).message.split('\n')[0]}`;
      progress.say(`${name}: ${info.skipped}`);
      continue;
    }
    try {
      await measure(run, name, topo, info);
    } finally {
      await topo.stop();
    }
    await sleep(500);
  }

  const v = servingVersions(mode.compose, composeCmd);
  const ran = infos.filter((t) => !t.skipped);
  const info: RunInfo = {
    mode: mode.compose ? 'compose' : 'native',
    startedAt: new Date(t0).toISOString().replace(/\.\d+Z$/, 'Z'),
    durationS: (Date.now() - t0) / 1000,
    machine: { cores, cpuModel, kernel: release() },
    versions: {
      node: v.node!,
      nginx: v.nginx!,
      k6: k6Version,
      ...(mode.compose ? { docker: v.docker!, compose: v.compose! } : {}),
      // The Python side only where it ran.
      ...(ran.some((t) => isPython(t.name as TopologyName))
        ? { gunicorn: v.gunicorn!, flask: v.flask!, python: v.python! }
        : {}),
    },
    settings: runSettings({
      o,
      scenarios,
      hasWrk,
      hasTaskset,
      k6Version,
      modeWhy: mode.why,
      ...(mode.compose
        ? { compose: { cmd: composeCmd, buildS, anyNative: ran.some((t) => !isComposeTopology(t.name)) } }
        : {}),
    }),
    topologies: infos,
    rows,
  };
  writeReport(OUT, info);
  const complete =
    mode.compose && !interrupted && COMPOSE_TOPOLOGIES.every((t) => infos.some((i) => i.name === t && !i.skipped));
  const onlyTlsWs = scenarios.every((s) => s === 'tls' || s === 'ws' || s === 'h2');
  progress.say(`done: ${join(OUT, 'report.md')}${copyLatest(o, OUT, mode.compose, complete, onlyTlsWs)}`);
}

/** Starts one topology: its compose profile in compose mode (when it has one), else natively. */
async function start(
  name: TopologyName,
  o: Options,
  how: { compose: boolean; composeCmd: string; hasTaskset: boolean; progress: Progress },
): Promise<Serving> {
  if (!how.compose || !isComposeTopology(name)) {
    const cpus = how.hasTaskset ? o.serverCpus : undefined;
    return startTopology(name, { workers: o.workers, cpus, nginxAccessLog: o.nginxAccessLog });
  }
  how.progress.say(
    `${name}: ${how.composeCmd} -p ${COMPOSE_PROJECT} --profile ${name} up -d (cpuset ${o.serverCpus}), waiting for healthy`,
  );
  const c = await startComposeTopology(name, {
    workers: o.workers,
    cpus: o.serverCpus,
    nginxAccessLog: o.nginxAccessLog,
  });
  const to = endpoint(c);
  const sources = [...new Set(c.containers.map((x) => x.cpuSource.replace(/[0-9a-f]{64}/, '<id>')))];
  note(
    `up: ${c.containers.map((x) => x.name).join(', ')}; clients → ${to.host} (Host ${to.hostHeader}); ` +
      `CPU from ${sources.join(', ')}`,
  );
  return c;
}

await main();
