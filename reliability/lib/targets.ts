/**
 * The topologies under test, started natively on loopback by @gw/harness (harness/src/topologies.ts):
 * the gateway alone, nginx → the app's own server, nginx → the gateway, gunicorn (the seed's stack).
 * Each is a harness Topology, so a check or an attack is written once and run against each. Here
 * the gateway logs at info level: its workers' boot, readiness and exit lines are what the faults
 * wait for and what crashes() reads.
 */
import { ROOT, startTopology, type TOPOLOGIES, type Topology, unavailable } from '@gw/harness';

export { ROOT };
/** The plain-HTTP topologies of the comparison (TLS ones are the comparison's business). */
export type TopologyName = (typeof TOPOLOGIES)[number];
/** What a fault or a bad-input case runs against. */
export type Target = Topology;
export const APP = `${ROOT}/app/dist/app.js`;

/** Why a topology cannot run here (no nginx, no gunicorn, not built), or false: the launcher's own check. */
export function missing(name: TopologyName): string | false {
  return unavailable(name) ?? false;
}

export interface StartOptions {
  workers?: number;
  port?: number;
  cpus?: string;
  /** More gateway options, e.g. ['--timeout', '2']. */
  extraArgs?: string[];
}

export function startTarget(name: TopologyName, o: StartOptions = {}): Promise<Target> {
  return startTopology(name, {
    workers: o.workers ?? 2,
    ...(o.cpus ? { cpus: o.cpus } : {}),
    ...(o.port ? { port: o.port } : {}),
    gatewayLogLevel: 'info',
    gatewayArgs: o.extraArgs ?? [],
  });
}

/** The gateway alone; `t.gateway` is its master (log lines, workers, signals). */
export async function startGatewayTarget(
  o: StartOptions = {},
): Promise<Target & { gateway: NonNullable<Target['gateway']> }> {
  const t = await startTarget('gateway', o);
  if (!t.gateway) throw new Error('the gateway topology has no gateway');
  return { ...t, gateway: t.gateway };
}
