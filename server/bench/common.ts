/**
 * What the benchmark scripts share: their preconditions (tools installed, project built), waiting
 * for a server they started, and the median they report.
 * (The scripts themselves run on import, so they cannot import each other.)
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Exits with a clear message (and code 2) unless `cmd` is on PATH. */
export function need(cmd: string, hint: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  } catch {
    console.error(`bench: ${cmd} is not installed (${hint})`);
    process.exit(2);
  }
}

/** Exits with a clear message (and code 2) unless the app and the gateway are built. */
export function needBuilt(): void {
  for (const f of ['app/dist/app.js', 'app/dist/standalone.js', 'server/dist/cli.js']) {
    if (!existsSync(join(ROOT, f))) {
      console.error(`bench: ${f} is missing; run npm run build first`);
      process.exit(2);
    }
  }
}

/** Resolves once 127.0.0.1:port accepts a connection; throws if `proc` exits or `limitMs` runs out. */
export async function waitListening(port: number, proc: ChildProcess | undefined, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
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
