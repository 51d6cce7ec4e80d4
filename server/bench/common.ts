/**
 * What the benchmark scripts share: their preconditions (tools installed, project built) and the
 * median they report. Launching, waiting and CPU accounting come from @gw/harness.
 * (The scripts themselves run on import, so they cannot import each other.)
 */
import { missingBuild, onPath } from '@gw/harness';

export { ROOT, waitListening } from '@gw/harness';

/** Exits with a clear message (and code 2) unless `cmd` is on PATH. */
export function need(cmd: string, hint: string): void {
  if (!onPath(cmd)) {
    console.error(`bench: ${cmd} is not installed (${hint})`);
    process.exit(2);
  }
}

/** Exits with a clear message (and code 2) unless the app and the gateway are built. */
export function needBuilt(): void {
  const missing = missingBuild();
  if (missing) {
    console.error(`bench: ${missing} is missing; run npm run build first`);
    process.exit(2);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
