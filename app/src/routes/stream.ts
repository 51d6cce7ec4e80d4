// GET /stream?chunks=N&intervalMs=M: a chunked NDJSON response written one line
// every M ms. Shows whether a topology passes chunks through as they are
// written or buffers the whole response first.
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Limits } from '@gw/limits';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { boundedInteger } from '../schema.js';

interface StreamQuery {
  chunks: number;
  intervalMs: number;
}

/** Upper bound of ?chunks=; the total duration is bounded separately by maxWaitMs. */
export const MAX_CHUNKS = 1000;

async function* lines(chunks: number, intervalMs: number): AsyncGenerator<string> {
  for (let seq = 1; seq <= chunks; seq++) {
    // The first line goes out at once, so the client sees headers immediately.
    if (seq > 1) await sleep(intervalMs);
    yield `${JSON.stringify({ seq, of: chunks, pid: process.pid, at: new Date().toISOString() })}\n`;
  }
}

export async function streamRoutes(app: FastifyInstance, opts: { limits: Limits }): Promise<void> {
  const { maxWaitMs } = opts.limits;

  app.get<{ Querystring: StreamQuery }>(
    '/stream',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            chunks: boundedInteger(1, MAX_CHUNKS, 5),
            intervalMs: boundedInteger(0, maxWaitMs, 200),
          },
        },
      },
    },
    async (request, reply) => {
      const { chunks, intervalMs } = request.query;
      // Bounds the whole response, so no client can park a connection on it forever.
      if ((chunks - 1) * intervalMs > maxWaitMs) throw new AppError('APP_ERR_STREAM_TOO_LONG', maxWaitMs);
      // Fastify destroys this stream if the client goes away, which ends the generator.
      const body = Readable.from(lines(chunks, intervalMs), { objectMode: false });
      return (
        reply
          .type('application/x-ndjson; charset=utf-8')
          .header('cache-control', 'no-store')
          // A hint for nginx (proxy_buffering): pass this response through unbuffered.
          .header('x-accel-buffering', 'no')
          .send(body)
      );
    },
  );
}
