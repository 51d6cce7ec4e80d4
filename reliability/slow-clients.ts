/**
 * Slow and hostile clients against each topology, natively on loopback: slowloris (a request
 * head trickled one header every 5 s), slow body (a POST declaring 1 MB, 10 bytes every 5 s),
 * slow read (a 4 MB static file requested, then never read). Attackers connect from 127.0.0.9
 * and reopen whatever the server closes, so N stay open; normal clients send GET / at a fixed
 * rate from 127.0.0.2 (nginx's per-address limits apply per source, and only on /api/).
 * Figures per cell: normal clients' throughput and p99 as a fraction of the same topology's
 * no-attack baseline. Target: ≥ 90% of baseline throughput at 1,000 slow connections.
 *
 *   flock /tmp/gw-measure.lock node --import tsx reliability/slow-clients.ts
 *   SIZES=100,1000,5000 TOPOLOGIES=gateway,full ATTACKS=slowloris RATE=300 …
 */
import net from 'node:net';
import { type CaseResult, Load, report, round, sleep, summarize } from './lib/measure.js';
import { missing, startTarget, type TopologyName } from './lib/targets.js';

const SIZES = (process.env.SIZES ?? '100,1000').split(',').map(Number);
const TOPOS = (process.env.TOPOLOGIES ?? 'gateway,proxy,full,gunicorn').split(',') as TopologyName[];
const ATTACKS = (process.env.ATTACKS ?? 'slowloris,slowbody,slowread').split(',') as Attack[];
const RATE = Number(process.env.RATE ?? 300);
const MEASURE_S = Number(process.env.MEASURE_S ?? 10);
const ATTACKER = '127.0.0.9';
type Attack = 'slowloris' | 'slowbody' | 'slowread';

/** Keeps `n` slow connections open until stop(); counts how often the server closed one. */
function attack(kind: Attack, port: number, n: number) {
  const socks = new Set<net.Socket>();
  let stopped = false;
  let closedByServer = 0;
  let refused = 0;
  const open = () => {
    if (stopped) return;
    const s = net.connect({ port, host: '127.0.0.1', localAddress: ATTACKER });
    socks.add(s);
    let timer: NodeJS.Timeout | undefined;
    s.on('connect', () => {
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
        setTimeout(open, 100);
      }
    });
  };
  for (let i = 0; i < n; i++) open();
  return {
    stats: () => ({ open: socks.size, closedByServer, refused }),
    stop: () => {
      stopped = true;
      for (const s of socks) s.destroy();
    },
  };
}

const rows: CaseResult[] = [];
for (const name of TOPOS) {
  const skip = missing(name);
  if (skip) {
    console.log(`skip ${name}: ${skip}`);
    continue;
  }
  const t = await startTarget(name, { workers: 2 }).catch((e: Error) => {
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
    console.log(`${name} baseline: ${base.rps} req/s ok, p99 ${base.p99} ms, ${base.failed} failed`);
    for (const kind of ATTACKS) {
      for (const n of SIZES) {
        const a = attack(kind, t.port, n);
        await sleep(3000);
        const under = await measure();
        const st = a.stats();
        a.stop();
        await sleep(2000);
        const frac = round(under.rps / base.rps, 2);
        rows.push({
          case: `${kind} ×${n}`,
          topology: name,
          pass: n > 1000 ? undefined : frac >= 0.9,
          result:
            `${round(frac * 100, 0)}% of baseline throughput (${under.rps}/${base.rps} req/s), ` +
            `p99 ${under.p99} ms (baseline ${base.p99}), ${under.failed} failed; ` +
            `attacker: ${st.open} open, ${st.closedByServer} closed by the server`,
          figures: {
            rate: RATE,
            baseRps: base.rps,
            rps: under.rps,
            fraction: frac,
            p99: under.p99,
            baseP99: base.p99,
            failed: under.failed,
            failures: under.failures,
            attacker: st,
          },
        });
        console.log(`  ${rows.at(-1)!.case}: ${rows.at(-1)!.result}`);
      }
    }
  } finally {
    await t.stop().catch(() => {});
  }
}
report(rows);
