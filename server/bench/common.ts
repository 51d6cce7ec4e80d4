/**
 * What the benchmark scripts share: waiting for a server they started, and the median they report.
 * (The scripts themselves run on import, so they cannot import each other.)
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/** Resolves once 127.0.0.1:port accepts a connection; throws if `proc` exits or `limitMs` runs out. */
export async function waitListening(port: number, proc: ChildProcess | undefined, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${port} after ${limitMs / 1000}s`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
