// What this machine has, asked once: the repository root, commands on PATH, the
// build outputs, the nginx/gunicorn binaries, a Docker engine and a compose CLI.
// Launchers and callers ask these instead of probing on their own, so a missing
// tool is named the same way everywhere.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (harness/src/ is two levels below it). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
export const GUNICORN_BIN = process.env.GUNICORN_BIN ?? '/usr/bin/gunicorn';

const onPathCache = new Map<string, boolean>();
/** `command -v cmd` succeeds (cached for the life of the process). */
export function onPath(cmd: string): boolean {
  let found = onPathCache.get(cmd);
  if (found === undefined) {
    found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
    onPathCache.set(cmd, found);
  }
  return found;
}

/** `argv` under `taskset -c cpus` when cpus are given and taskset exists (taskset execs: the pid stays the program's). */
export function pinned(argv: string[], cpus: string | undefined): string[] {
  return cpus !== undefined && onPath('taskset') ? ['taskset', '-c', cpus, ...argv] : argv;
}

/** What `npm run build` makes and the launchers run. */
export const BUILD_OUTPUTS = ['app/dist/app.js', 'app/dist/standalone.js', 'server/dist/cli.js'] as const;

/** The first build output that is missing (relative to ROOT), or undefined when all are there. */
export function missingBuild(): string | undefined {
  return BUILD_OUTPUTS.find((f) => !existsSync(join(ROOT, f)));
}

/** `docker info` answers: an engine is running and this user may talk to it. */
export function dockerAnswers(): boolean {
  return onPath('docker') && spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/**
 * The compose CLI: COMPOSE_CLI (e.g. "docker-compose"), else `docker compose` (v2), else
 * `docker-compose` (1.29); undefined when none answers `version`.
 */
export function composeCli(): string[] | undefined {
  const wanted = process.env.COMPOSE_CLI?.split(' ').filter(Boolean);
  const candidates = wanted ? [wanted] : [['docker', 'compose'], ['docker-compose']];
  return candidates.find(
    (c) => spawnSync(c[0]!, [...c.slice(1), 'version'], { stdio: 'ignore', timeout: 20_000 }).status === 0,
  );
}
