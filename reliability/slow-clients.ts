/**
 * Slow and hostile clients against each topology, natively on loopback: slowloris (a request
 * head trickled one header every 5 s), slow body (a POST declaring 1 MB, 10 bytes every 5 s),
 * slow read (a 4 MB static file requested, then never read). Attackers reopen whatever the server
 * closes (100 ms later), so N stay open or knocking; normal clients send GET / at a fixed rate from
 * 127.0.0.2. Attackers come from one address (127.0.0.9: SOURCES=single) or spread over N / 4
 * addresses of 127.1.0.0/16 (SOURCES=spread: a distributed attack, against which a per-address cap
 * does nothing and only shedding helps). Servers run on CPU 1, this script (load and attack) on 0.
 * Figures per cell: normal clients' throughput and p99 as a fraction of the same topology's (and
 * gateway configuration's) no-attack baseline, the resident memory of each server process while
 * the attack holds, and for the gateway the connections it shed and refused (its metrics).
 * Target: ≥ 90% of baseline throughput at 1,000 slow connections, and for the gateway alone with
 * its default levers at 5,000 and 10,000 too.
 *
 * The gateway's levers (server/src/connection-guard.ts) as LEVERS, each a gateway configuration
 * with a baseline of its own: default (the shipped defaults: shedding, worker_connections 5000, no
 * per-client cap), off (the gateway before issue 18: `--shed-connections=false`, Node's
 * refuse-the-newest, worker_connections 1000), cap (defaults with `--max-connections-per-client
 * 64`), ceiling1000 (defaults with the old `--worker-connections 1000`), noshare (defaults with
 * `--max-in-flight-per-client 0`: one address may have any number of requests in the app).
 * 10,000 attack sockets need 10,000 descriptors here and ulimit -n is 20000: the script raises
 * nothing, it checks the soft limit and says so when it is too low (`ulimit -n 30000` first).
 *
 * MTU=1500 runs it all (servers, attackers, normal clients) in a network namespace of its own
 * (unshare -n, root) whose loopback has that MTU; the host's is 65536. Linux sizes a connection's
 * send buffer from its segment size, so on the host's loopback a reader that never reads still has
 * ~4 MB of the file taken off the server into kernel buffers (each "slow" reader is a bulk download
 * the worker copies at full speed), where with an Ethernet-sized MTU the kernel takes ~0.6 MB and
 * then pushes back, as on a real network (reliability/FINDINGS.md, "Slow readers").
 * NOTSENT_LOWAT=16384 runs it in such a namespace too, with that net.ipv4.tcp_notsent_lowat: the
 * kernel then takes at most that many unsent bytes per connection before a write waits, so a
 * reader that never reads costs the server what is in flight plus 16 kB, not its whole send buffer
 * (docker-compose.yml sets it for the gateway at the edge). Both together: MTU=1500 NOTSENT_LOWAT=….
 *
 *   flock /tmp/gw-measure.lock taskset -c 0 node --import tsx reliability/slow-clients.ts
 *   SIZES=5000,10000 TOPOLOGIES=gateway LEVERS=default,off SOURCES=single,spread ATTACKS=slowloris …
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { type CaseResult, Load, report, round, sleep, summarize } from './lib/measure.js';
import { missing, startTarget, type Target, type TopologyName } from './lib/targets.js';

const MTU = process.env.MTU ? Number(process.env.MTU) : undefined;
const LOWAT = process.env.NOTSENT_LOWAT ? Number(process.env.NOTSENT_LOWAT) : undefined;
if ((MTU !== undefined || LOWAT !== undefined) && process.env.GW_SLOW_NETNS !== '1') {
  if (MTU !== undefined && (!Number.isInteger(MTU) || MTU < 1280 || MTU > 65536))
    throw new Error(`MTU=${process.env.MTU}: 1280 to 65536`);
  if (LOWAT !== undefined && (!Number.isInteger(LOWAT) || LOWAT < 1))
    throw new Error(`NOTSENT_LOWAT=${process.env.NOTSENT_LOWAT}: a number of bytes`);
  // The same script again, in a new network namespace: its loopback with this MTU, its TCP with
  // this tcp_notsent_lowat (a sysctl of the namespace, as in a container's `sysctls:`).
  const setup = [
    `ip link set lo ${MTU ? `mtu ${MTU} ` : ''}up`,
    ...(LOWAT ? [`sysctl -qw net.ipv4.tcp_notsent_lowat=${LOWAT}`] : []),
  ].join(' && ');
  const self = [process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const r = spawnSync('unshare', ['-n', 'sh', '-c', `${setup} && exec "$@"`, 'sh', ...self], {
    stdio: 'inherit',
    env: { ...process.env, GW_SLOW_NETNS: '1' },
  });
  if (r.error || r.status !== 0) console.error(r.error?.message ?? `unshare -n: status ${r.status} (root is needed)`);
  process.exit(r.status ?? 1);
}
const SIZES = (process.env.SIZES ?? '100,1000').split(',').map(Number);
const TOPOS = (process.env.TOPOLOGIES ?? 'gateway,proxy,full,gunicorn').split(',') as TopologyName[];
const ATTACKS = (process.env.ATTACKS ?? 'slowloris,slowbody,slowread').split(',') as Attack[];
const LEVERS = (process.env.LEVERS ?? 'default').split(',') as Lever[];
const SOURCES = (process.env.SOURCES ?? 'single').split(',') as Source[];
const RATE = Number(process.env.RATE ?? 300);
const MEASURE_S = Number(process.env.MEASURE_S ?? 10);
type Attack = 'slowloris' | 'slowbody' | 'slowread';
type Lever = 'default' | 'off' | 'cap' | 'ceiling1000' | 'noshare';
type Source = 'single' | 'spread';

const LEVER_ARGS: Record<Lever, string[]> = {
  default: [],
  off: [
    ...['--shed-connections=false', '--max-connections-per-client', '0', '--worker-connections', '1000'],
    ...['--max-in-flight-per-client', '0'],
  ],
  cap: ['--max-connections-per-client', '64'],
  ceiling1000: ['--worker-connections', '1000'],
  noshare: ['--max-in-flight-per-client', '0'],
};
const LEVER_TEXT: Record<Lever, string> = {
  default: '',
  off: ', levers off (before issue 18: refuse the newest, worker_connections 1000)',
  cap: ', max_connections_per_client 64',
  ceiling1000: ', worker_connections 1000',
  noshare: ', max_in_flight_per_client 0',
};

const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim());
if (Number.isFinite(fdLimit) && fdLimit < Math.max(...SIZES) + 2000)
  throw new Error(`ulimit -n is ${fdLimit}: too low for ${Math.max(...SIZES)} attack sockets; raise it first`);

/** The attacker's source address for its i-th connection. */
function source(kind: Source, i: number): string {
  if (kind === 'single') return '127.0.0.9';
  const a = Math.floor(i / 4);
  return `127.1.${a >> 8}.${a & 255}`;
}

/** Keeps `n` slow connections open until stop(); counts how often the server closed one. */
function attack(kind: Attack, port: number, n: number, from: Source) {
  const socks = new Set<net.Socket>();
  let stopped = false;
  let closedByServer = 0;
  let refused = 0;
  // Indices that have connected once: a reconnect after the server closed one is not a new attacker.
  const connectedOnce = new Set<number>();
  const t0 = Date.now();
  let allConnectedMs: number | undefined;
  const open = (i: number) => {
    if (stopped) return;
    const s = net.connect({ port, host: '127.0.0.1', localAddress: source(from, i) });
    socks.add(s);
    let timer: NodeJS.Timeout | undefined;
    s.on('connect', () => {
      connectedOnce.add(i);
      if (connectedOnce.size >= n && allConnectedMs === undefined) allConnectedMs = Date.now() - t0;
      if (kind === 'slowloris') s.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
      if (kind === 'slowbody')
        s.write(
          'POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n',
        );
      if (kind === 'slowread') {
        s.write('GET /static/4m.bin HTTP/1.1\r\nHost: localhost\r\n\r\n');
        s.pause();
        return;
      }
      // Read (and drop) whatever the server sends: a socket nobody reads never sees the server's
      // FIN, so a 408 and close would go unnoticed and the attacker would look alive.
      s.resume();
      let k = 0;
      timer = setInterval(() => s.write(kind === 'slowloris' ? `X-Slow-${k++}: a\r\n` : 'x'.repeat(10)), 5000);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') refused++;
    });
    s.on('close', () => {
      clearInterval(timer);
      socks.delete(s);
      if (!stopped) {
        closedByServer++;
        setTimeout(() => open(i), 100);
      }
    });
  };
  for (let i = 0; i < n; i++) open(i);
  return {
    stats: () => ({ open: socks.size, closedByServer, refused, allConnectedMs }),
    /** Resolves once n connections have been made (at most `ms` later). */
    allConnected: async (ms: number) => {
      for (const deadline = Date.now() + ms; allConnectedMs === undefined && Date.now() < deadline; ) await sleep(100);
    },
    stop: () => {
      stopped = true;
      for (const s of socks) s.destroy();
    },
  };
}

/** Resident memory of each server process, MB, labelled: "gateway master 61, worker 84, worker 90". */
function memory(t: Target): { text: string; byPid: Record<string, number> } {
  // The root of the gateway's process tree is its master.
  const master = t.gateway?.pids()[0];
  const byPid: Record<string, number> = {};
  const parts: string[] = [];
  for (const pid of t.pids()) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue;
    }
    const mb = Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    const role = /nginx: master/.test(cmd)
      ? 'nginx master'
      : /nginx/.test(cmd)
        ? 'nginx worker'
        : pid === master
          ? 'gateway master'
          : /gunicorn|python/.test(cmd)
            ? 'gunicorn'
            : /standalone/.test(cmd)
              ? 'app server'
              : 'gateway worker';
    byPid[`${role} ${pid}`] = mb;
    parts.push(`${role} ${mb}`);
  }
  return { text: parts.sort().join(', '), byPid };
}

/** The gateway's shed and refused connections so far (its metrics), or undefined without a gateway. */
async function guardCounts(t: Target): Promise<Record<string, number> | undefined> {
  if (!t.gateway) return undefined;
  const text = await fetch(t.gateway.metricsUrl).then((r) => r.text());
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^gateway_connections_(shed|refused)_total\{reason="(\w+)"\} (\d+)/gm))
    if (Number(m[3]) > 0) out[`${m[1]} ${m[2]}`] = Number(m[3]);
  return out;
}

const diff = (after: Record<string, number> = {}, before: Record<string, number> = {}) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
const phrase = (c: Record<string, number>) =>
  Object.entries(c)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

const rows: CaseResult[] = [];
const configs: Array<{ name: TopologyName; lever: Lever }> = TOPOS.flatMap(
  (name): Array<{ name: TopologyName; lever: Lever }> =>
    name === 'gateway' ? LEVERS.map((lever) => ({ name, lever })) : [{ name, lever: 'default' as const }],
);
for (const { name, lever } of configs) {
  const skip = missing(name);
  if (skip) {
    console.log(`skip ${name}: ${skip}`);
    continue;
  }
  const withGateway = name === 'gateway' || name === 'full';
  const extraArgs = [...(withGateway ? ['--metrics-bind', '127.0.0.1:0'] : []), ...LEVER_ARGS[lever]];
  const t = await startTarget(name, { workers: 2, cpus: '1', extraArgs }).catch((e: Error) => {
    console.log(`skip ${name}: ${e.message.split('\n')[0]}`);
    return undefined;
  });
  if (!t) continue;
  try {
    const measure = async () => {
      const load = new Load({
        baseUrl: t.baseUrl,
        rate: RATE,
        path: '/',
        localAddress: '127.0.0.2',
        maxSeconds: MEASURE_S + 5,
        timeoutMs: 5000,
      });
      await sleep(MEASURE_S * 1000);
      return summarize(await load.stop(), 0, MEASURE_S * 1000);
    };
    const base = await measure();
    const idle = memory(t);
    console.log(
      `${name}${LEVER_TEXT[lever]} baseline: ${base.rps} req/s ok, p99 ${base.p99} ms; memory MB: ${idle.text}`,
    );
    for (const kind of ATTACKS) {
      for (const n of SIZES) {
        // A distributed attack only where it differs: against the gateway's own levers.
        for (const from of name === 'gateway' && lever !== 'off' ? SOURCES : (['single'] as Source[])) {
          const before = await guardCounts(t);
          const a = attack(kind, t.port, n, from);
          // Measured once every attacker is connected (and 3 s on): this process also drives the
          // normal clients, and opening thousands of sockets bound to one source address costs it
          // seconds of bind() (Linux searches that address's ports, TIME_WAIT ones included), time
          // in which its own normal requests would wait and count against the server.
          await a.allConnected(60_000);
          await sleep(3000);
          const under = await measure();
          const mem = memory(t);
          const st = a.stats();
          const guard = diff(await guardCounts(t), before);
          a.stop();
          await sleep(2000);
          const frac = round(under.rps / base.rps, 2);
          const ramp = st.allConnectedMs === undefined ? 'more than 60 s' : `${round(st.allConnectedMs / 1000, 1)} s`;
          const where =
            (from === 'spread' ? ` from ${Math.ceil(n / 4)} addresses` : '') +
            (MTU ? `, MTU ${MTU}` : '') +
            (LOWAT ? `, tcp_notsent_lowat ${LOWAT}` : '');
          const target = n <= 1000 || (name === 'gateway' && lever === 'default');
          rows.push({
            case: `${kind} ×${n}${where}${LEVER_TEXT[lever]}`,
            topology: name,
            pass: target ? frac >= 0.9 : undefined,
            result:
              `${round(frac * 100, 0)}% of baseline throughput (${under.rps}/${base.rps} req/s), ` +
              `p99 ${under.p99} ms (baseline ${base.p99}), ${under.failed} failed; ` +
              `attacker: ${st.open} open (all ${n} connected after ${ramp}), ${st.closedByServer} closed by the server; ` +
              `${withGateway ? `gateway shed/refused: ${phrase(guard)}; ` : ''}memory MB: ${mem.text}`,
            figures: {
              rate: RATE,
              mtu: MTU ?? 65536,
              notsentLowat: LOWAT ?? null,
              lever,
              source: from,
              baseRps: base.rps,
              rps: under.rps,
              fraction: frac,
              p99: under.p99,
              baseP99: base.p99,
              failed: under.failed,
              failures: under.failures,
              attacker: st,
              guard,
              rssMb: mem.byPid,
              idleRssMb: idle.byPid,
            },
          });
          console.log(`  ${rows.at(-1)!.case}: ${rows.at(-1)!.result}`);
        }
      }
    }
  } finally {
    await t.stop().catch(() => {});
  }
}
report(rows);
