// GET / (the benchmark endpoint: tiny and cheap) and GET /whoami (the client as
// the app sees it, which is what differs between topologies and proxy trust).
import type { FastifyInstance } from 'fastify';

export async function infoRoutes(app: FastifyInstance): Promise<void> {
  // A response schema lets Fastify serialize with a precompiled function.
  app.get(
    '/',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { hello: { type: 'string' }, pid: { type: 'integer' } },
            required: ['hello', 'pid'],
          },
        },
      },
    },
    async () => ({ hello: 'world', pid: process.pid }),
  );

  app.get('/whoami', async (request) => ({
    // Resolved through trustProxy: the client when the peer is a trusted proxy.
    ip: request.ip,
    // Every hop from the TCP peer outwards, up to the first untrusted one.
    ips: request.ips ?? [request.ip],
    scheme: request.protocol,
    host: request.host,
    // The TCP peer itself: the client, nginx, or nothing (inject), depending on topology.
    peer: request.socket.remoteAddress ?? null,
    httpVersion: request.raw.httpVersion,
    pid: process.pid,
  }));
}
