// What the Swarm tests share (test/swarm.test.ts on one node, test/swarm-nodes.test.ts on three
// Docker-in-Docker nodes): the images, the stack's environment, docker commands that do not block
// this process (a Load runs in it: a spawnSync would stall the load's clock and fake the figures),
// waiting for a service update to settle, and the figures of a window of the load.
import { join } from 'node:path';
import { type Ran, ROOT, run, runAsync } from '@gw/harness';
import { type Load, ok, type Sample } from '../reliability/lib/measure.js';

export const STACK_FILE = join(ROOT, 'deploy/swarm/stack.yml');
export const IMAGE = 'node-gateway-stack';
/**
 * The image tags of one test file (its own, so two files never remove each other's): the build of
 * this tree; the same build under another tag (what a new version looks like to Swarm); an image
 * whose app cannot start (its build output is gone), which Swarm must roll back by itself.
 */
export interface Tags {
  base: string;
  next: string;
  broken: string;
}
export const tagsOf = (name: string): Tags => ({ base: name, next: `${name}-next`, broken: `${name}-broken` });

export const log = (line: string): void => {
  process.stdout.write(`# swarm: ${line}\n`);
};

/** Builds the two images of this tree under tags.base, the same under tags.next, and the broken one. */
export function buildImages(tags: Tags): void {
  for (const [target, image] of [
    ['runtime', IMAGE],
    ['nginx', `${IMAGE}-nginx`],
  ] as const) {
    run('docker', ['build', '-q', '--target', target, '-t', `${image}:${tags.base}`, '.'], { timeoutMs: 20 * 60_000 });
    run('docker', ['tag', `${image}:${tags.base}`, `${image}:${tags.next}`]);
  }
  // The release that does not start: the gateway's and the app's compiled code missing.
  const broken = `FROM ${IMAGE}:${tags.base}\nUSER root\nRUN rm -rf /app/server/dist /app/app/dist\nUSER node\n`;
  run('docker', ['build', '-q', '-t', `${IMAGE}:${tags.broken}`, '-'], { input: broken, timeoutMs: 120_000 });
}

export function removeImages(tags: Tags): void {
  run('docker', ['rmi', `${IMAGE}:${tags.next}`, `${IMAGE}-nginx:${tags.next}`, `${IMAGE}:${tags.broken}`], {
    allowFail: true,
  });
}

/** Counts of one window of the load: the requests started in it, the failed ones by kind. */
export interface Window {
  requests: number;
  failed: number;
  byKind: Record<string, number>;
}

export function windowOf(samples: Sample[], from: number, to: number): Window {
  const inside = samples.filter((s) => s.start >= from && s.start < to);
  const byKind: Record<string, number> = {};
  for (const f of inside.filter((s) => !ok(s))) {
    const k = f.error ?? String(f.status);
    byKind[k] = (byKind[k] ?? 0) + 1;
  }
  return { requests: inside.length, failed: Object.values(byKind).reduce((a, b) => a + b, 0), byKind };
}

export const describeWindow = (w: Window): string =>
  `${w.failed} failed of ${w.requests}` +
  (w.failed
    ? ` (${Object.entries(w.byKind)
        .map(([k, n]) => `${n}× ${k}`)
        .join(', ')})`
    : '');

/** `docker` (or `docker exec NODE docker` for a node of its own) as a command prefix. */
export type DockerCli = [string, ...string[]];

/**
 * The service's update state once it has settled ('completed', 'rollback_completed', 'paused', …),
 * polled without blocking; undefined: still updating when `timeoutMs` ran out.
 */
export async function settled(cli: DockerCli, service: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  const [cmd, ...pre] = cli;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    const r = await runAsync(
      cmd,
      [...pre, 'service', 'inspect', service, '--format', '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}'],
      { timeoutMs: 30_000 },
    );
    const state = r.stdout.trim();
    if (r.status === 0 && state && !/updating|rollback_started/.test(state)) return state;
  }
  return undefined;
}

/** Runs `docker service update ARGS SERVICE` under the load and measures it until it settled + 5 s. */
export async function updateUnderLoad(
  cli: DockerCli,
  load: Load,
  service: string,
  args: string[],
  timeoutMs = 240_000,
): Promise<{ state: string | undefined; window: Window; tookS: number; ran: Ran }> {
  const [cmd, ...pre] = cli;
  const from = load.now();
  const t0 = performance.now();
  const ran = await runAsync(cmd, [...pre, 'service', 'update', '--detach', ...args, service], { timeoutMs: 60_000 });
  const state = ran.status === 0 ? await settled(cli, service, timeoutMs) : undefined;
  const tookS = Math.round((performance.now() - t0) / 100) / 10;
  await new Promise((r) => setTimeout(r, 5000));
  return { state, window: windowOf(load.samples, from, load.now()), tookS, ran };
}

/** The images of a service's tasks that are meant to run (one line each: image and state). */
export async function runningImages(cli: DockerCli, service: string): Promise<string[]> {
  const [cmd, ...pre] = cli;
  const r = await runAsync(
    cmd,
    [...pre, 'service', 'ps', service, '--filter', 'desired-state=running', '--format', '{{.Image}} {{.CurrentState}}'],
    { timeoutMs: 30_000 },
  );
  return r.stdout.split('\n').filter(Boolean);
}
