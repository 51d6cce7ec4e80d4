// Running `docker` and the compose CLI for the stacks the harness starts: every
// command from the repository root, bounded in time, with the legacy builder (Compose
// 1.29 uses it anyway, and a docker CLI without the buildx plugin cannot build with
// BuildKit); a project taken down with everything it left (containers, networks).
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './tools.ts';

/** What makes `docker build` and compose use the legacy builder. */
export const LEGACY_BUILDER = { DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' } as const;

/** One command, its output as text; never throws (see status and error). Default limit 2 minutes. */
export function sh(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...LEGACY_BUILDER, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A compose project: which CLI, which files (none: docker-compose.yml), which profile, with what environment. */
export interface ComposeStack {
  cli: string[];
  project: string;
  files: string[];
  profile: string;
  env: NodeJS.ProcessEnv;
}

export function compose(stack: ComposeStack, args: string[], timeoutMs = 180_000): SpawnSyncReturns<string> {
  const [cmd, ...sub] = stack.cli;
  return sh(
    cmd!,
    [...sub, ...stack.files.flatMap((f) => ['-f', f]), '-p', stack.project, '--profile', stack.profile, ...args],
    { env: stack.env, timeoutMs },
  );
}

/** compose(), its stdout; throws with the tail of stderr when the command fails. */
export function composeOrThrow(stack: ComposeStack, args: string[], timeoutMs?: number): string {
  const r = compose(stack, args, timeoutMs);
  if (r.status !== 0) {
    const why = r.error ? ` (${r.error.message})` : '';
    throw new Error(`compose ${args.join(' ')} exited ${r.status}${why}:\n${(r.stderr ?? '').slice(-3000)}`);
  }
  return r.stdout;
}

const byProject = (project: string) => ['--filter', `label=com.docker.compose.project=${project}`];

/** Every container of the project, running or not (ids). */
export function projectContainers(project: string): string[] {
  return sh('docker', ['ps', '-aq', ...byProject(project)])
    .stdout.split('\n')
    .filter(Boolean);
}

/**
 * `down -v` of each profile (where `stack` gives a compose CLI), then whatever is left with the
 * project's label (containers, networks).
 */
export function removeProject(
  project: string,
  profiles: readonly string[],
  stack?: Omit<ComposeStack, 'project' | 'profile'>,
): void {
  if (stack)
    for (const profile of profiles)
      compose({ ...stack, project, profile }, ['down', '-v', '--remove-orphans', '--timeout', '10']);
  const left = projectContainers(project);
  if (left.length) sh('docker', ['rm', '-f', '-v', ...left]);
  const nets = sh('docker', ['network', 'ls', '-q', ...byProject(project)])
    .stdout.split('\n')
    .filter(Boolean);
  if (nets.length) sh('docker', ['network', 'rm', ...nets]);
}

/** The `FROM` images of the Dockerfile (base images a build needs), not its own stages. */
export function baseImages(dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')): string[] {
  const stages = new Set<string>();
  const out: string[] = [];
  for (const m of dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    if (!stages.has(m[1]!) && !out.includes(m[1]!)) out.push(m[1]!);
    if (m[2]) stages.add(m[2]);
  }
  return out;
}

export const imagePresent = (ref: string): boolean =>
  sh('docker', ['image', 'inspect', ref], { timeoutMs: 20_000 }).status === 0;

/** A finished command's status and output. */
export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment docker and compose run with here: this process's, with the legacy builder unless set. */
export const DOCKER_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? LEGACY_BUILDER.DOCKER_BUILDKIT,
  COMPOSE_DOCKER_CLI_BUILD: process.env.COMPOSE_DOCKER_CLI_BUILD ?? LEGACY_BUILDER.COMPOSE_DOCKER_CLI_BUILD,
};

/**
 * One command for a test, from the repository root, bounded in time (default 2 minutes), with
 * DOCKER_ENV: a non-zero status fails the test with the output's tail unless `allowFail`.
 */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string>; allowFail?: boolean; input?: string } = {},
): Ran {
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...DOCKER_ENV, ...opts.env },
    input: opts.input,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const ran = { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  if (!opts.allowFail && ran.status !== 0) {
    assert.fail(
      `${cmd} ${args.join(' ')} exited ${ran.status}${r.error ? ` (${r.error.message})` : ''}:\n` +
        `${ran.stderr.slice(-3000)}\n${ran.stdout.slice(-3000)}`,
    );
  }
  return ran;
}

/**
 * One command without blocking this process (a load in this process keeps its clock while it
 * runs, which a spawnSync would stop), from the repository root with DOCKER_ENV, killed after
 * `timeoutMs` (default 5 minutes). Never rejects on a status: the caller reads it.
 */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: Record<string, string | undefined> } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...DOCKER_ENV, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
