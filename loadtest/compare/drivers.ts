// The load generators the comparison runner drives, and the CPU sampler it reads
// while they run: k6 (one scenario script, its JSON summary back), wrk (capacity,
// closed model), both pinned to the load CPUs, both bounded in time. They take any
// Serving (harness/src/serving.ts): a native topology or a compose profile.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { endpoint, pinned, ROOT, type Serving } from '@gw/harness';
import { type K6Summary, parseWrk, type Row } from './report.ts';

export const K6 = process.env.K6_BIN ?? 'k6';

export interface Drivers {
  /** The run folder (raw outputs; logs/ under it). */
  out: string;
  /** `taskset -c` list of the load generators; undefined: not pinned. */
  loadCpus: string | undefined;
  /** wrk's connections and seconds. */
  connections: number;
  duration: number;
  /** A line under the current step in the progress log. */
  note(text: string): void;
}

export interface Sampler {
  stop(): void;
  /** CPU seconds used between two instants (ms since the epoch), interpolated; null when not sampled. */
  between(from: number, to: number): number | null;
}

/** Samples the topology's cumulative CPU every 100 ms; between(from, to) interpolates. */
export function sampler(topo: Pick<Serving, 'cpuSeconds'>): Sampler {
  const samples: Array<[number, number]> = [];
  const zero = topo.cpuSeconds();
  const tick = () => {
    samples.push([Date.now(), topo.cpuSeconds() - zero]);
  };
  tick();
  const timer = setInterval(tick, 100);
  const at = (t: number): number => {
    if (samples.length === 0) return 0;
    if (t <= samples[0]![0]) return samples[0]![1];
    for (let i = 1; i < samples.length; i++) {
      const [ta, va] = samples[i - 1]!;
      const [tb, vb] = samples[i]!;
      if (t <= tb) return va + ((vb - va) * (t - ta)) / Math.max(1, tb - ta);
    }
    return samples[samples.length - 1]![1];
  };
  return {
    stop: () => {
      tick();
      clearInterval(timer);
    },
    between: (from, to) =>
      samples.length < 2 || to > samples[samples.length - 1]![0] + 500 ? null : at(to) - at(from),
  };
}

/** A k6 config file mapping the Serving's host names to their addresses (k6's `hosts` option); none without names. */
export function k6HostsConfig(topo: Pick<Serving, 'hosts'>, dir: string): string | undefined {
  const [name] = Object.keys(topo.hosts ?? {});
  if (name === undefined) return undefined;
  const f = join(dir, `k6-hosts-${name}.json`);
  writeFileSync(f, `${JSON.stringify({ hosts: topo.hosts })}\n`);
  return f;
}

/** Runs one child and collects its output; after `limitMs` it is killed (`graceful`: SIGINT first, SIGKILL 10 s later). */
async function collect(argv: string[], env: NodeJS.ProcessEnv, limitMs: number, graceful: boolean) {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (c: Buffer) => {
    text += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    text += c.toString();
  });
  const limit = setTimeout(() => {
    child.kill(graceful ? 'SIGINT' : 'SIGKILL');
    if (graceful) setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  }, limitMs);
  // 'close': after the exit and the end of its output.
  const code: number = await new Promise((r) => child.on('close', (c) => r(c ?? 1)));
  clearTimeout(limit);
  return { code, text };
}

/** One k6 script against `topo`; its summary (written by the script into `dir`), or undefined with a note. */
export async function k6(
  d: Drivers,
  script: string,
  topo: Serving,
  env: Record<string, string | number>,
  dir: string,
  seconds: number,
): Promise<K6Summary | undefined> {
  const config = k6HostsConfig(topo, join(d.out, 'logs'));
  const args = [
    ...['run', '--quiet', ...(config ? ['--config', config] : [])],
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    join(ROOT, 'loadtest/scenarios', `${script}.js`),
  ];
  const log = join(d.out, 'logs', `${dir === d.out ? '' : `${basename(dir)}-`}${script}-${topo.name}.txt`);
  const childEnv = {
    ...process.env,
    K6_NO_USAGE_REPORT: 'true',
    BASE_URL: topo.baseUrl,
    TOPOLOGY: topo.name,
    RESULTS_DIR: dir,
    // HTTP/1.1 over TLS too: nginx's 8443 offers h2 by ALPN, the gateway does not; the TLS comparison is of where TLS
    // ends, not of h2.
    ...(topo.baseUrl.startsWith('https:')
      ? { GODEBUG: [process.env.GODEBUG, 'http2client=0'].filter(Boolean).join(',') }
      : {}),
  };
  // Every load is bounded in time: k6 gets its plan plus a minute, then SIGINT, then SIGKILL.
  const { code, text } = await collect(pinned([K6, ...args], d.loadCpus), childEnv, (seconds + 60) * 1000, true);
  writeFileSync(log, text);
  const file = join(dir, `${script}-${topo.name}.json`);
  if (!existsSync(file)) {
    d.note(`k6 ${script} wrote no summary (exit ${code}); see ${log}`);
    return undefined;
  }
  // 99 = a threshold failed: expected for capacity (the knee), and a fact worth reporting otherwise.
  if (code !== 0 && code !== 99) d.note(`k6 ${script} exited ${code}; see ${log}`);
  return JSON.parse(readFileSync(file, 'utf8')) as K6Summary;
}

/**
 * Capacity with wrk (closed model: `connections` connections, each sending its
 * next request as soon as the last is answered). k6 costs far more CPU per
 * request than wrk: on one core it tops out around 3,000-3,500 req/s, below what
 * any Node topology serves on one core, so a k6 ramp would find k6's knee, not
 * the server's. wrk on the same core does not.
 */
export async function wrkCapacity(
  d: Drivers,
  topo: Serving,
  cpu: Sampler,
  scenario = 'capacity',
): Promise<Row | undefined> {
  const to = endpoint(topo);
  const url = new URL(topo.baseUrl);
  url.hostname = to.host;
  const args = ['-t1', `-c${d.connections}`, `-d${d.duration}s`, '--latency', '-H', `Host: ${to.hostHeader}`];
  const started = Date.now();
  const { text } = await collect(
    pinned(['wrk', ...args, `${url.origin}/`], d.loadCpus),
    process.env,
    (d.duration + 30) * 1000,
    false,
  );
  const ended = Date.now();
  writeFileSync(join(d.out, `${scenario}-${topo.name}.txt`), text);
  const parsed = parseWrk(text);
  if (!parsed) {
    d.note(`wrk gave no figures; see ${scenario}-${topo.name}.txt`);
    return undefined;
  }
  // wrk's own start-up and the final partial second are a few ms: the window is the process's life.
  const cpuS = cpu.between(started, ended);
  return {
    topology: topo.name,
    scenario,
    step: `wrk -c${d.connections}`,
    offered: null,
    requests: parsed.requests,
    rps: parsed.rps,
    p50: parsed.p50,
    p95: NaN,
    p99: parsed.p99,
    failed: parsed.errors,
    dropped: 0,
    cpuSeconds: cpuS,
    cpuPer1k: cpuS === null || parsed.requests === 0 ? null : (cpuS / parsed.requests) * 1000,
    thresholdsOk: parsed.errors === 0,
  };
}
