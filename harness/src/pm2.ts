// PM2's cluster mode with the app's own server (`pm2 start app/dist/standalone.js -i N`), the
// Node world's usual answer to "Gunicorn for Node", started as a topology of its own: a PM2 daemon
// in a PM2_HOME of ours (a temporary folder, so no other PM2 on the machine is touched), pinned
// with taskset (the CLI spawns the daemon, which forks the instances: all inherit the affinity),
// and stopped with `pm2 kill` of that home, then the daemon's pid if it is still there.
//
//   const p = await startPm2({ instances: 2, cpus: '1' });
//   // p.baseUrl, p.daemonPid (PM2's "God" process: the master), p.workerPids()
//   await p.stop();
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpStatus } from './http.ts';
import { freePort } from './ports.ts';
import { tree } from './procstat.ts';
import { type Serving, servingOf, vanished } from './serving.ts';
import { missingBuild, pinned, ROOT } from './tools.ts';

export const PM2_BIN = join(ROOT, 'node_modules/.bin/pm2');

export interface Pm2Options {
  /** Cluster instances (`-i`). Default 2. */
  instances?: number;
  /** `taskset -c` list for the daemon and its instances; none when absent. */
  cpus?: string | undefined;
  /** Default a free port. */
  port?: number;
}

export interface Pm2Cluster extends Serving {
  readonly port: number;
  /** PM2's daemon: it forks the instances and holds the cluster's listening socket (node:cluster's primary). */
  readonly daemonPid: number;
  /** The instances now (the daemon's children). */
  workerPids(): number[];
  stop(): Promise<void>;
}

/** Why PM2 cannot run here, or undefined when it can. */
export function pm2Unavailable(): string | undefined {
  if (!existsSync(PM2_BIN)) return `no pm2 at ${PM2_BIN} (npm ci installs it: a devDependency)`;
  const missing = missingBuild();
  return missing ? `${missing} not built (npm run build)` : undefined;
}

/** Starts the cluster and waits until /healthz answers and every instance is up (20 s at most). */
export async function startPm2(o: Pm2Options = {}): Promise<Pm2Cluster> {
  const why = pm2Unavailable();
  if (why) throw new Error(`pm2 cannot run here: ${why}`);
  const instances = o.instances ?? 2;
  const port = o.port || (await freePort());
  const home = mkdtempSync(join(tmpdir(), 'gw-pm2-'));
  const env = {
    ...process.env,
    PM2_HOME: home,
    // What the app's standalone entry reads, as the other topologies run it.
    ...{ PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production', LOG_LEVEL: 'warn' },
  };
  const pm2 = (args: string[], cpus?: string) => {
    const argv = pinned([PM2_BIN, ...args], cpus);
    execFileSync(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: 'ignore', timeout: 30_000 });
  };
  const daemon = () => {
    try {
      return Number(readFileSync(join(home, 'pm2.pid'), 'utf8')) || 0;
    } catch {
      return 0;
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const pid = daemon();
      const pids = pid ? tree(pid) : [];
      try {
        pm2(['kill', '--silent']);
      } catch {
        /* the daemon is gone already, or stuck: the pids below */
      }
      // `pm2 kill` returns once the daemon has been told; it exits a moment later.
      for (let i = 0; i < 50 && vanished(pids).length < pids.length; i++) await sleep(100);
      for (const p of pids.filter((x) => !vanished([x]).length)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(home, { recursive: true, force: true });
    })());
  try {
    pm2(['start', 'app/dist/standalone.js', '-i', String(instances), '--name', 'app', '--silent'], o.cpus);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const pid = daemon();
      if (pid && tree(pid).length >= instances + 1 && (await httpStatus(port, '/healthz')) === 200) break;
      if (Date.now() > deadline) throw new Error(`pm2 cluster did not become ready on 127.0.0.1:${port} within 20 s`);
      await sleep(100);
    }
    // The first instance answered: a moment for the others to listen (as the other launchers wait).
    await sleep(300);
  } catch (error) {
    await stop();
    throw error;
  }
  const daemonPid = daemon();
  const base = servingOf('pm2', `http://127.0.0.1:${port}`, () => tree(daemonPid), stop);
  return { ...base, port, daemonPid, workerPids: () => tree(daemonPid).slice(1), stop };
}
