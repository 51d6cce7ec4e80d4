// GET /slow?ms=N waits without blocking (I/O-bound work: one process can hold
// many); GET /cpu?ms=N spins on the event loop (CPU-bound: the process serves
// nothing else meanwhile). Their contrast is what workers and proxies change.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Limits } from '@gw/limits';
import type { FastifyInstance } from 'fastify';
import { boundedInteger } from '../schema.js';

interface MsQuery {
  ms: number;
}

function msSchema(maximum: number) {
  return {
    querystring: {
      type: 'object',
      properties: { ms: boundedInteger(0, maximum) },
      required: ['ms'],
    },
    response: {
      200: {
        type: 'object',
        properties: { ms: { type: 'integer' }, pid: { type: 'integer' } },
        required: ['ms', 'pid'],
      },
    },
  } as const;
}

/** Blocks the calling thread for `ms` milliseconds; returns the loop count. */
export function spin(ms: number): number {
  const end = performance.now() + ms;
  let loops = 0;
  while (performance.now() < end) loops++;
  return loops;
}

export async function workRoutes(app: FastifyInstance, opts: { limits: Limits }): Promise<void> {
  app.get<{ Querystring: MsQuery }>('/slow', { schema: msSchema(opts.limits.maxWaitMs) }, async (request) => {
    const { ms } = request.query;
    await sleep(ms);
    return { ms, pid: process.pid };
  });

  app.get<{ Querystring: MsQuery }>('/cpu', { schema: msSchema(opts.limits.maxCpuMs) }, async (request) => {
    const { ms } = request.query;
    spin(ms);
    return { ms, pid: process.pid };
  });
}
