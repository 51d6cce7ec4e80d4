/**
 * WebSockets and upgrades as an attacker would use them, against each topology natively on
 * loopback, every attack bounded in count (reliability/lib/ws-attacks.ts):
 *
 * - a client that sends 1 MiB frames to the /ws echo and never reads (FRAMES of them at most):
 *   how far it got, and how much the backend's memory grew;
 * - `Upgrade: websocket` and `Upgrade: h2c` on / interleaved with other clients' POSTs (ATTACKS +
 *   VICTIMS, 4 at a time): victims that failed;
 * - IDLE WebSockets opened from 50 client addresses and left idle, then 100 ordinary GETs: how
 *   many were refused, and whether the GETs failed;
 * - 100 malformed frames: the close codes received, and (where there is a gateway) its count.
 *
 *   flock /tmp/gw-measure.lock node --import tsx reliability/websockets.ts
 *   TOPOLOGIES=gateway FRAMES=512 ATTACKS=2000 VICTIMS=2000 IDLE=2000 …
 */
import { readFileSync } from 'node:fs';
import { type CaseResult, report, round } from './lib/measure.js';
import { missing, startTarget, type TopologyName } from './lib/targets.js';
import { fillIdle, floodUnread, malformedFrame, openRaw, poisonPool } from './lib/ws-attacks.js';

const TOPOS = (process.env.TOPOLOGIES ?? 'gateway,proxy,full').split(',') as TopologyName[];
const FRAMES = Number(process.env.FRAMES ?? 512);
const ATTACKS = Number(process.env.ATTACKS ?? 2000);
const VICTIMS = Number(process.env.VICTIMS ?? 2000);
const IDLE = Number(process.env.IDLE ?? 2000);
const ADDRESSES = Array.from({ length: 50 }, (_, i) => `127.0.1.${i + 10}`);

function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

async function getStatus(baseUrl: string): Promise<number | string> {
  try {
    return (await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(5000) })).status;
  } catch (e) {
    return (e as Error).message;
  }
}

const rows: CaseResult[] = [];
for (const name of TOPOS) {
  const skip = missing(name);
  if (skip) {
    console.log(`skip ${name}: ${skip}`);
    continue;
  }
  const hasGateway = name !== 'proxy';
  const t = await startTarget(name, { workers: 2, extraArgs: hasGateway ? ['--metrics-bind', '127.0.0.1:0'] : [] });
  try {
    // 1. Flood without reading.
    const before = rssMb(t.pids());
    const ws = await openRaw(t.port, '/ws', { noRead: true });
    const flood = await floodUnread(ws, { frames: FRAMES, bytes: 1024 * 1024 });
    const grown = round(rssMb(t.pids()) - before, 0);
    const after = await getStatus(t.baseUrl);
    ws.sock.destroy();
    rows.push({
      case: `WebSocket client sending 1 MiB frames, never reading (up to ${FRAMES})`,
      topology: name,
      pass: (flood.stalled || flood.closed !== undefined) && grown < 300 && after === 200,
      result:
        `${flood.stalled ? 'the server stopped reading' : flood.closed !== undefined ? `closed (${flood.closed})` : 'all taken'} ` +
        `after ${flood.sent} MiB; memory of the serving processes +${grown} MB; GET / afterwards: ${after}`,
      figures: { ...flood, rssGrowthMb: grown, after },
    });
    console.log(`  ${rows.at(-1)!.case} [${name}]: ${rows.at(-1)!.result}`);

    // 2. Upgrade on an ordinary route among victims.
    for (const upgrade of ['websocket', 'h2c']) {
      const r = await poisonPool(t.port, { attacks: ATTACKS, victims: VICTIMS, concurrency: 4, upgrade });
      rows.push({
        case: `Upgrade: ${upgrade} on / among other clients' POSTs`,
        topology: name,
        pass: r.victimFailures === 0,
        result:
          `${r.victimFailures} of ${r.victims} victim POSTs failed` +
          `${r.victimFailures ? ` (${JSON.stringify(r.failures)})` : ''}; attacker answered ${JSON.stringify(r.attackerStatus)}`,
        figures: { ...r },
      });
      console.log(`  ${rows.at(-1)!.case} [${name}]: ${rows.at(-1)!.result}`);
    }

    // 3. Idle WebSockets.
    const idle = await fillIdle(t.port, { count: IDLE, addresses: ADDRESSES, requests: 100 });
    rows.push({
      case: `${IDLE} idle WebSockets from ${ADDRESSES.length} addresses, then 100 GETs`,
      topology: name,
      pass: idle.failed === 0,
      result: `handshakes answered ${JSON.stringify(idle.status)}; ${idle.failed} of ${idle.requests} GETs failed meanwhile`,
      figures: { ...idle },
    });
    console.log(`  ${rows.at(-1)!.case} [${name}]: ${rows.at(-1)!.result}`);

    // 4. Malformed frames.
    const codes: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const c = String(await malformedFrame(t.port));
      codes[c] = (codes[c] ?? 0) + 1;
    }
    const counted = hasGateway
      ? await t.gateway?.metric('gateway_websocket_server_closes_total{code="1002"}')
      : undefined;
    rows.push({
      case: '100 malformed frames (reserved opcode)',
      topology: name,
      pass: codes['1002'] === 100 && (await getStatus(t.baseUrl)) === 200,
      result:
        `closed with ${JSON.stringify(codes)}` +
        (hasGateway ? `; gateway_websocket_server_closes_total{code="1002"} ${counted}` : '; no gateway: no metric'),
      figures: { codes, counted },
    });
    console.log(`  ${rows.at(-1)!.case} [${name}]: ${rows.at(-1)!.result}`);
  } finally {
    await t.stop().catch(() => {});
  }
}
report(rows);
