// What each feature of the shipped nginx config costs on the proxied path (issue 21): one gateway
// (2 workers, as `full`), and in front of it, in turn, nginx/minimal.conf, the shipped config as
// the comparison runs it (plain HTTP, access log off, one worker), and the shipped config with one
// feature changed (VARIANTS). Each is loaded with wrk -t1 -c50 on GET / for --duration seconds,
// in --rounds alternating rounds; everything serving is pinned to --server-cpus, wrk to
// --load-cpus. Reported per variant: the median req/s and CPU s per 1,000 requests (nginx and
// gateway together) over the rounds, and both as a ratio to the shipped config and to minimal.
// It takes no lock itself: run it under flock /tmp/gw-measure.lock, as below. Writes --out/nginx-cost.json
// after every round, so a run cut short keeps the rounds it finished.
//
//   flock /tmp/gw-measure.lock npm run bench:nginx-cost -- --rounds 3 --duration 5 --out DIR
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  freePort,
  nginxVersion,
  pinned,
  ROOT,
  type Serving,
  startGateway,
  startMinimalNginx,
  startNativeNginx,
} from '@gw/harness';
import { parseWrk } from './rows.ts';

const { values: v } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    only: { type: 'string' },
    'server-cpus': { type: 'string', default: '1' },
    'load-cpus': { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});
const ROUNDS = Number(v.rounds);
const DURATION = Number(v.duration);
const SERVER = v['server-cpus'];
const LOAD = v['load-cpus'];

type Rewrite = [RegExp, string];
/** One change to the shipped config's rendered files (every rewrite must match), or the minimal config. */
interface Variant {
  name: string;
  what: string;
  rewrites?: Rewrite[];
  minimal?: boolean;
}

const HEADERS_SENT =
  /proxy_set_header (X-Forwarded-For|X-Forwarded-Proto|X-Forwarded-Host|X-Real-IP|Forwarded|X-Request-Id) .*;/g;
export const VARIANTS: Variant[] = [
  { name: 'minimal', what: 'nginx/minimal.conf', minimal: true },
  { name: 'shipped', what: 'the shipped config (plain HTTP site, access log off, 1 worker)' },
  {
    name: 'no-security-headers',
    what: 'without includes/security-headers.conf (7 add_header always)',
    rewrites: [[/include includes\/security-headers\.conf;/g, '']],
  },
  {
    name: 'no-hide-headers',
    what: "without the 7 proxy_hide_header of the backend's security headers",
    rewrites: [[/proxy_hide_header [A-Za-z-]+;/g, '']],
  },
  {
    name: 'no-forwarded-headers',
    what: 'without X-Forwarded-For/Proto/Host, X-Real-IP, Forwarded "", X-Request-Id to the backend',
    rewrites: [[HEADERS_SENT, '']],
  },
  {
    name: 'no-real-ip-forwarded-host',
    what: 'without X-Real-IP and X-Forwarded-Host (copies of X-Forwarded-For and Host)',
    rewrites: [[/proxy_set_header (X-Real-IP|X-Forwarded-Host) .*;/g, '']],
  },
  {
    name: 'no-request-id',
    what: 'without X-Request-Id to the backend',
    rewrites: [[/proxy_set_header X-Request-Id .*;/g, '']],
  },
  {
    name: 'no-upgrade-maps',
    what: 'Connection "" and no Upgrade header (instead of the two maps)',
    rewrites: [
      [/proxy_set_header Connection +\$connection_upgrade;/g, 'proxy_set_header Connection "";'],
      [/proxy_set_header Upgrade +\$upstream_upgrade;/g, ''],
    ],
  },
  { name: 'no-gzip', what: 'gzip off', rewrites: [[/gzip on;/g, 'gzip off;']] },
  {
    name: 'no-least-conn',
    what: 'round robin, no shared zone, no max_fails (instead of zone + least_conn)',
    rewrites: [
      [/least_conn;/g, ''],
      [/zone backend 64k;/g, ''],
    ],
  },
  {
    name: 'default-buffers',
    what: "nginx's default proxy buffers (instead of 16k + 32 × 16k)",
    rewrites: [
      [/proxy_buffer_size 16k;/g, ''],
      [/proxy_buffers 32 16k;/g, ''],
      [/proxy_busy_buffers_size 64k;/g, ''],
    ],
  },
  {
    name: 'all-of-the-above-off',
    what: 'every change above at once: what these features cost together',
    rewrites: [],
  },
  {
    name: 'access-log-json',
    what: 'the JSON access log to a file (as shipped; the comparison turns it off)',
    rewrites: [[/access_log off;\n/, 'access_log access.log json;\n']],
  },
  {
    name: 'access-log-buffered',
    what: 'the JSON access log to a file with buffer=64k flush=1s',
    rewrites: [[/access_log off;\n/, 'access_log access.log json buffer=64k flush=1s;\n']],
  },
];

// The combined variant: the rewrites of every single-change variant between `shipped` and it.
{
  const all = VARIANTS.findIndex((x) => x.name === 'all-of-the-above-off');
  const first = VARIANTS.findIndex((x) => x.name === 'shipped') + 1;
  // (The two that split no-forwarded-headers are inside it already.)
  const parts = VARIANTS.slice(first, all).filter(
    (x) => !['no-real-ip-forwarded-host', 'no-request-id'].includes(x.name),
  );
  VARIANTS[all]!.rewrites = parts.flatMap((x) => x.rewrites ?? []);
}

interface Sample {
  round: number;
  rps: number;
  requests: number;
  cpuPer1k: number;
  errors: number;
}

function wrk(url: string, seconds = DURATION): Promise<string> {
  const argv = pinned(['wrk', '-t1', '-c50', `-d${seconds}s`, '--latency', url], LOAD);
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const limit = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.on('close', () => {
      clearTimeout(limit);
      resolve(text);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The medians and ratios of the rounds so far (written to --out after every round: a cut-short run keeps them). */
function summarize(variants: Variant[], samples: Map<string, Sample[]>, roundsDone: number) {
  const med = (name: string, k: 'rps' | 'cpuPer1k') => median(samples.get(name)!.map((s) => s[k]));
  const has = (n: string) => samples.has(n);
  const result = {
    startedBy: 'npm run bench:nginx-cost',
    settings: { rounds: ROUNDS, durationS: DURATION, serverCpus: SERVER, loadCpus: LOAD, wrk: 'wrk -t1 -c50 GET /' },
    nginx: nginxVersion(),
    node: process.version,
    roundsDone,
    variants: variants
      .filter((x) => samples.get(x.name)!.length > 0)
      .map((x) => ({
        name: x.name,
        what: x.what,
        rps: med(x.name, 'rps'),
        cpuPer1k: med(x.name, 'cpuPer1k'),
        rpsOverShipped: has('shipped') ? med(x.name, 'rps') / med('shipped', 'rps') : null,
        cpuOverShipped: has('shipped') ? med(x.name, 'cpuPer1k') / med('shipped', 'cpuPer1k') : null,
        rpsOverMinimal: has('minimal') ? med(x.name, 'rps') / med('minimal', 'rps') : null,
        cpuOverMinimal: has('minimal') ? med(x.name, 'cpuPer1k') / med('minimal', 'cpuPer1k') : null,
        samples: samples.get(x.name),
      })),
  };
  if (v.out) {
    mkdirSync(v.out, { recursive: true });
    writeFileSync(join(v.out, 'nginx-cost.json'), `${JSON.stringify(result, null, 2)}\n`);
  }
  return result;
}

async function main(): Promise<void> {
  const variants = v.only ? VARIANTS.filter((x) => v.only!.split(',').includes(x.name)) : VARIANTS;
  const gport = await freePort();
  const gw = await startGateway(
    ['-w', '2', '-b', `127.0.0.1:${gport}`, '--forwarded-allow-ips', '127.0.0.1', 'app/dist/app.js'],
    { NODE_ENV: 'production', LOG_LEVEL: 'warn' },
    { cpus: SERVER, cwd: ROOT },
  );
  const samples = new Map<string, Sample[]>(variants.map((x) => [x.name, []]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const variant of variants) {
        const nginx: Serving = variant.minimal
          ? await startMinimalNginx({ upstream: `127.0.0.1:${gport}`, cpus: SERVER })
          : await startNativeNginx({
              upstreams: [`127.0.0.1:${gport}`],
              cpus: SERVER,
              accessLog: 'off',
              workerProcesses: 1,
              ...(variant.rewrites ? { rewrites: variant.rewrites } : {}),
            });
        try {
          const url = `${nginx.baseUrl}/`;
          // Warm: upstream connections open, JIT warm.
          await wrk(url, 2);
          const cpu0 = nginx.cpuSeconds() + gw.cpuSeconds();
          const out = await wrk(url);
          const cpu = nginx.cpuSeconds() + gw.cpuSeconds() - cpu0;
          const p = parseWrk(out);
          if (!p) throw new Error(`wrk gave no figures for ${variant.name}:\n${out}`);
          const s = { round, rps: p.rps, requests: p.requests, cpuPer1k: (cpu / p.requests) * 1000, errors: p.errors };
          samples.get(variant.name)!.push(s);
          process.stderr.write(
            `round ${round} ${variant.name.padEnd(22)} ${p.rps.toFixed(0).padStart(6)} req/s ` +
              `${s.cpuPer1k.toFixed(4)} CPU s/1k errors ${p.errors}\n`,
          );
        } finally {
          await nginx.stop();
        }
      }
      summarize(variants, samples, round);
    }
  } finally {
    await gw.stop();
  }
  const result = summarize(variants, samples, ROUNDS);
  for (const x of result.variants)
    console.log(
      `${x.name.padEnd(22)} ${x.rps.toFixed(0).padStart(6)} req/s ×${x.rpsOverMinimal?.toFixed(2)} of minimal ` +
        `×${x.rpsOverShipped?.toFixed(2)} of shipped; CPU s/1k ${x.cpuPer1k.toFixed(4)} ×${x.cpuOverMinimal?.toFixed(2)} of minimal`,
    );
}

await main();
