// Liveness and readiness probes. /healthz says "the process answers" (restart
// me if not); /readyz says "send me traffic" and turns 503 while draining.
import type { FastifyInstance } from 'fastify';

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string' }, pid: { type: 'integer' } },
  required: ['status', 'pid'],
} as const;

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', { schema: { response: { 200: statusSchema } } }, async () => ({
    status: 'ok',
    pid: process.pid,
  }));

  app.get(
    '/readyz',
    { schema: { response: { 200: statusSchema, 503: statusSchema } } },
    async function (_request, reply) {
      if (this.isDraining()) return reply.status(503).send({ status: 'draining', pid: process.pid });
      return { status: 'ready', pid: process.pid };
    },
  );
}
