/**
 * The topologies under test, started natively on loopback: the gateway alone (server/test/helpers'
 * startGateway on the sample app), and the nginx ones through loadtest/compare/topologies.ts
 * (nginx → the app's own server; nginx → the gateway; gunicorn, the seed's stack). One shape for
 * all of them, so a check or an attack is written once and run against each.
 */
import { fileURLToPath } from 'node:url';
import { startTopology, type TOPOLOGIES, unavailable } from '../../loadtest/compare/topologies.js';
import { type Gateway, startGateway } from '../../server/test/helpers.js';

/** The plain-HTTP topologies of the comparison (TLS ones are the comparison's business). */
export type TopologyName = (typeof TOPOLOGIES)[number];

export interface Target {
  name: TopologyName;
  host: string;
  port: number;
  baseUrl: string;
  /** Every process serving (masters, workers, nginx): unchanged afterwards = nothing crashed. */
  pids(): number[];
  /** Crash evidence in the logs (a worker exited or was killed), where the topology has logs. */
  crashes(): string[];
  stop(): Promise<void>;
  gateway?: Gateway;
}

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const APP = `${ROOT}app/dist/app.js`;

/** Why a topology cannot run here (no nginx, no gunicorn, not built), or false: the launcher's own check. */
export function missing(name: TopologyName): string | false {
  return unavailable(name) ?? false;
}

export interface StartOptions {
  workers?: number;
  port?: number;
  cpus?: string;
  extraArgs?: string[];
}

export async function startGatewayTarget(o: StartOptions = {}): Promise<Target> {
  const gw = await startGateway(
    ['-w', String(o.workers ?? 2), '-b', `127.0.0.1:${o.port ?? 0}`, ...(o.extraArgs ?? []), APP],
    { NODE_ENV: 'production', LOG_LEVEL: 'warn' },
  );
  await gw.until('all workers ready', () => gw.readyWorkers().length === (o.workers ?? 2));
  return {
    name: 'gateway',
    host: '127.0.0.1',
    port: gw.port,
    baseUrl: gw.url,
    gateway: gw,
    pids: () => [gw.proc.pid!, ...gw.liveWorkers()].sort(),
    crashes: () =>
      gw.lines.filter((l) => /exited|was sent|WORKER TIMEOUT|uncaught/i.test(l.msg ?? '')).map((l) => l.msg!),
    stop: async () => {
      await gw.stop();
    },
  };
}

export async function startTarget(name: TopologyName, o: StartOptions = {}): Promise<Target> {
  if (name === 'gateway') return startGatewayTarget(o);
  const topo = await startTopology(name, {
    workers: o.workers ?? 2,
    ...(o.cpus ? { cpus: o.cpus } : {}),
    ...(o.port ? { port: o.port } : {}),
  });
  const url = new URL(topo.baseUrl);
  const initial = new Set(topo.pids());
  return {
    name,
    host: url.hostname,
    port: Number(url.port),
    baseUrl: topo.baseUrl,
    pids: () => topo.pids().sort(),
    // No master log to read here: a process of the starting set that is gone is the evidence.
    crashes: () =>
      [...initial]
        .filter((pid) => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        })
        .map((pid) => `pid ${pid} is gone`),
    stop: () => topo.stop(),
  };
}
