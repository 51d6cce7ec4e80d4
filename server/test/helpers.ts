/**
 * Process-level test harness of the gateway's tests: the real CLI (server/dist/cli.js) started and
 * its JSON log lines followed by @gw/harness (harness/src/gateway.ts), plus the raw-socket and load
 * helpers only tests use. Waits are bounded so a broken gateway fails a test instead of hanging
 * it; nothing asserts on speed.
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Reply } from '@gw/harness';

export { CLI, Gateway, type LogLine, type Reply, request, startGateway } from '@gw/harness';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const fixture = (name: string): string => `${FIXTURES}${name}`;

/** Sends raw bytes and returns everything the server writes back until it closes (or `limitMs`). */
export function rawExchange(
  port: number,
  payload: string | Buffer,
  limitMs = 5000,
  host = '127.0.0.1',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => {
      out += c;
    });
    sock.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(out) : reject(err),
    );
    sock.on('close', () => resolve(out));
    sock.setTimeout(limitMs, () => {
      sock.destroy();
      resolve(out);
    });
    sock.write(payload);
  });
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
