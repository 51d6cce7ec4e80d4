/**
 * The compose side of the fault scripts that replace a backend under load (compose-restart.ts,
 * compose-rollout.ts): a project of their own on free host ports bound to loopback, the compose
 * CLI with that environment, the stack brought up and waited for through nginx, and the failed
 * requests of a window of the load, by kind.
 */
import { compose as composeRun, freePort } from '@gw/harness';
import { Load, type Sample, sleep } from './measure.js';

/** What a command printed, stdout then stderr, for the messages of a failed step. */
export interface ComposeRan {
  status: number | null;
  out: string;
}

export interface ComposeStack {
  /** The host ports compose publishes, by the variable docker-compose.yml reads. */
  ports: Record<
    'HOST_PORT_GATEWAY' | 'HOST_PORT_PROXY' | 'HOST_PORT_FULL' | 'HOST_PORT_PROXY_TLS' | 'HOST_PORT_FULL_TLS',
    number
  >;
  /** The environment every compose command of the project gets (ports, loopback bind, `extra`). */
  env: Record<string, string>;
  compose(profile: string, args: string[], extra?: Record<string, string>): ComposeRan;
  /** `up -d --build` of `profile`, then up to 60 s until GET / on `port` through nginx's HTTPS answers 200. */
  upHealthy(profile: string, port: number): Promise<string>;
  down(profile: string): ComposeRan;
}

export async function composeStack(
  cli: string[],
  project: string,
  extra: Record<string, string> = {},
): Promise<ComposeStack> {
  const ports = {
    HOST_PORT_GATEWAY: await freePort(),
    HOST_PORT_PROXY: await freePort(),
    HOST_PORT_FULL: await freePort(),
    HOST_PORT_PROXY_TLS: await freePort(),
    HOST_PORT_FULL_TLS: await freePort(),
  };
  const env = {
    HOST_BIND: '127.0.0.1',
    ...extra,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
  const compose = (profile: string, args: string[], more: Record<string, string> = {}): ComposeRan => {
    const r = composeRun({ cli, project, files: [], profile, env: { ...env, ...more } }, args, 300_000);
    return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  };
  return {
    ports,
    env,
    compose,
    down: (profile) => compose(profile, ['down', '-v', '--remove-orphans', '--timeout', '10']),
    async upHealthy(profile, port) {
      const up = compose(profile, ['up', '-d', '--build']);
      if (up.status !== 0) throw new Error(`compose up failed:\n${up.out.slice(-2000)}`);
      // 127.0.0.1 is among the names nginx serves (it refuses unknown Host names).
      const base = `https://127.0.0.1:${port}`;
      for (let i = 0; i < 120; i++) {
        const probe = new Load({ baseUrl: base, rate: 2, maxSeconds: 1, timeoutMs: 2000 });
        await sleep(600);
        if ((await probe.stop()).some((s) => s.status === 200)) return base;
      }
      throw new Error('the stack did not become healthy in 60 s');
    },
  };
}

/** The requests started in [from, to), those `failed` says failed, by kind, and when the last one ended. */
export function failuresIn(samples: Sample[], from: number, to: number, failed: (s: Sample) => boolean) {
  const inside = samples.filter((s) => s.start >= from && s.start < to);
  const bad = inside.filter(failed);
  const byKind: Record<string, number> = {};
  for (const f of bad) byKind[f.error ?? String(f.status)] = (byKind[f.error ?? String(f.status)] ?? 0) + 1;
  return {
    requests: inside.length,
    failed: bad.length,
    byKind,
    lastFailureEnd: bad.length ? Math.max(...bad.map((f) => f.end)) : undefined,
  };
}
