// Launching one program and knowing when it serves: spawned from the repository
// root (pinned to CPUs with taskset when asked), the tail of its stderr kept for
// error messages, stopped by a signal with a bounded wait before SIGKILL. The
// waits here are bounded too, so a program that never comes up fails its caller
// instead of hanging it.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { tree } from './procstat.ts';
import { pinned, ROOT } from './tools.ts';

export interface LaunchOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Default ROOT. */
  cwd?: string;
  /** `taskset -c` list the program (and every child it forks) is pinned to; none when absent. */
  cpus?: string | undefined;
  /** stderr kept (its last 64 KiB, see stderr()) or passed through to ours. Default 'keep'. */
  stderr?: 'keep' | 'inherit';
  /** Where stdout goes: nowhere (default) or an open file descriptor. */
  stdout?: 'ignore' | number;
  /** What stop() sends first; default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** How long stop() waits for the exit before SIGKILL; default 10 s. */
  killAfterMs?: number;
}

export interface Launched {
  readonly proc: ChildProcess;
  /** The program's pid (taskset execs it: the same pid). */
  readonly pid: number;
  /** It has exited (or was killed). */
  exited(): boolean;
  /** The tail of what it wrote on stderr ('' when inherited). */
  stderr(): string;
  /** It and every process below it, now. */
  tree(): number[];
  /** stopSignal, then SIGKILL after killAfterMs; resolves once it has exited. */
  stop(): Promise<void>;
}

export function launch(argv: string[], o: LaunchOptions = {}): Launched {
  const full = pinned(argv, o.cpus);
  const proc = spawn(full[0]!, full.slice(1), {
    cwd: o.cwd ?? ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', o.stdout ?? 'ignore', o.stderr === 'inherit' ? 'inherit' : 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-64 * 1024);
  });
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const gone = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    pid: proc.pid ?? 0,
    exited,
    stderr: () => err,
    tree: () => (proc.pid ? tree(proc.pid) : []),
    async stop() {
      if (exited()) return;
      proc.kill(o.stopSignal ?? 'SIGTERM');
      const done = await Promise.race([gone.then(() => true), sleep(o.killAfterMs ?? 10_000).then(() => false)]);
      if (!done) {
        proc.kill('SIGKILL');
        await gone;
      }
    },
  };
}

/** True once `host:port` accepts a TCP connection. */
export function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Resolves once 127.0.0.1:port accepts a connection; throws if `proc` exits or `limitMs` runs out. */
export async function waitListening(port: number, proc: ChildProcess | undefined, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}`);
    if (await accepts(port)) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on ${port} after ${limitMs / 1000}s`);
}

/** Polls until `check` returns a value (not undefined), at most `timeoutMs`; a throw counts as not yet. */
export async function pollFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < Math.ceil(timeoutMs / intervalMs) + 1 && Date.now() < deadline; i++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}
