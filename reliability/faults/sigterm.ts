/**
 * Fault: SIGTERM to the whole stack with long requests in flight, as `docker compose stop` does
 * (every container at once; nginx gets SIGQUIT, its graceful stop and its image's STOPSIGNAL).
 * Claim: they complete, nothing is cut mid-response. In flight: GET /slow?ms=3000 and
 * GET /stream (15 lines, 200 ms apart), sent before the signal; every one must end with its
 * status 200 and its complete body. Topologies: gateway, proxy, full (native; nginx ones skipped
 * without nginx).
 *
 *   flock /tmp/gw-measure.lock node --import tsx reliability/faults/sigterm.ts
 */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import { type CaseResult, report, round, sleep } from '../lib/measure.js';
import { missing, startTarget, type Target, type TopologyName } from '../lib/targets.js';

interface Outcome {
  kind: string;
  status: number;
  complete: boolean;
  error?: string;
  ms: number;
}

function fetchWhole(base: string, path: string, check: (body: string) => boolean): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get(`${base}${path}`, { agent: false, localAddress: '127.0.0.2' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ kind: path, status: res.statusCode ?? 0, complete: check(body), ms: performance.now() - t0 }),
      );
      res.on('error', (e) =>
        resolve({
          kind: path,
          status: res.statusCode ?? 0,
          complete: false,
          error: e.message,
          ms: performance.now() - t0,
        }),
      );
    });
    req.setTimeout(40_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ kind: path, status: 0, complete: false, error: e.code ?? e.message, ms: performance.now() - t0 }),
    );
  });
}

/** The roots of the serving process trees (whose parent is not one of them): what a stop signals. */
function roots(pids: number[]): Array<{ pid: number; comm: string }> {
  const set = new Set(pids);
  return pids
    .map((pid) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return { pid, ppid, comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() };
    })
    .filter((p) => !set.has(p.ppid))
    .map(({ pid, comm }) => ({ pid, comm }));
}

const rows: CaseResult[] = [];
for (const name of ['gateway', 'proxy', 'full'] as TopologyName[]) {
  const skip = missing(name);
  if (skip) {
    console.log(`skip ${name}: ${skip}`);
    continue;
  }
  const t: Target = await startTarget(name, { workers: 2 });
  try {
    const pending: Array<Promise<Outcome>> = [];
    for (let i = 0; i < 10; i++) pending.push(fetchWhole(t.baseUrl, '/slow?ms=3000', (b) => /"ms":3000/.test(b)));
    for (let i = 0; i < 5; i++)
      pending.push(
        fetchWhole(t.baseUrl, '/stream?chunks=15&intervalMs=200', (b) => b.trim().split('\n').length === 15),
      );
    await sleep(800);
    const signalled = roots(t.pids());
    for (const p of signalled) process.kill(p.pid, p.comm === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
    const outcomes = await Promise.all(pending);
    const cut = outcomes.filter((o) => o.status !== 200 || !o.complete);
    rows.push({
      case: 'SIGTERM to the stack, long requests in flight',
      topology: name,
      pass: cut.length === 0,
      result:
        `${outcomes.length - cut.length}/${outcomes.length} completed whole (10 × /slow 3 s, 5 × /stream 3 s; ` +
        `signal 0.8 s in to ${signalled.map((p) => p.comm).join(', ')})` +
        (cut.length ? `; cut: ${cut.map((o) => `${o.kind} ${o.status} ${o.error ?? 'incomplete'}`).join('; ')}` : '') +
        `; longest ${round(Math.max(...outcomes.map((o) => o.ms)) / 1000, 2)} s`,
      figures: { requests: outcomes.length, cut: cut.length, signalled: signalled.map((p) => p.comm) },
    });
  } finally {
    await t.stop().catch(() => {});
  }
}
report(rows);
