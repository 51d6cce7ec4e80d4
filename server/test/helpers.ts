/**
 * Process-level test harness of the gateway's tests: the real CLI (server/dist/cli.js) started and
 * its JSON log lines followed by @gw/harness (harness/src/gateway.ts), plus the raw-socket and load
 * helpers only tests use. Waits are bounded so a broken gateway fails a test instead of hanging
 * it; nothing asserts on speed.
 */
import { fileURLToPath } from 'node:url';
import { exchange, type Reply } from '@gw/harness';

export { CLI, Gateway, type LogLine, type Reply, request, startGateway } from '@gw/harness';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const fixture = (name: string): string => `${FIXTURES}${name}`;

/** Sends raw bytes and returns everything the server writes back until it closes (or `limitMs`). */
export async function rawExchange(
  port: number,
  payload: string | Buffer,
  limitMs = 5000,
  host = '127.0.0.1',
): Promise<string> {
  const r = await exchange(port, payload, { host, limitMs });
  if (r.error) throw new Error(`raw exchange with ${host}:${port}: ${r.error}`);
  return Buffer.from(r.text, 'latin1').toString('utf8');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bounded stream of requests; returns per-request outcomes. */
export async function loadLoop(
  fn: () => Promise<Reply>,
  opts: { concurrency: number; until: () => boolean; maxRequests: number },
): Promise<{ ok: number; failed: string[] }> {
  let ok = 0;
  let sent = 0;
  const failed: string[] = [];
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (!opts.until() && sent < opts.maxRequests) {
        sent++;
        try {
          const r = await fn();
          if (r.status === 200) ok++;
          else failed.push(`status ${r.status}: ${r.body.slice(0, 200)}`);
        } catch (err) {
          failed.push((err as Error).message);
        }
      }
    }),
  );
  return { ok, failed };
}
