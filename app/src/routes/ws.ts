// GET /ws: a WebSocket echo. Every message comes back as sent; the first one the
// server sends names the worker pid, so a client can tell which process holds it.
// Shows whether a topology passes upgrades through and how stops close them.
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';

/** Largest message accepted; a bigger one closes the socket with 1009. */
export const MAX_WS_MESSAGE_BYTES = 1024 * 1024;

/**
 * Registers the WebSocket plugin on `app` itself (called directly, not through
 * app.register, so app.websocketServer is decorated on the root instance the
 * gateway holds), then the route.
 */
export async function installWebSocket(app: FastifyInstance): Promise<void> {
  // On close, every client gets 1001 "going away" (the plugin's default sends no
  // code). The plugin also exposes app.websocketServer, which the gateway uses to
  // do the same when a worker drains.
  await app.register(websocket, {
    options: { maxPayload: MAX_WS_MESSAGE_BYTES },
    preClose(done) {
      const server = this.websocketServer;
      for (const client of server.clients) client.close(1001, 'going away');
      server.close(() => {
        done();
      });
    },
  });
  await app.register(wsRoutes);
}

async function wsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/ws', { websocket: true }, (socket) => {
    socket.send(JSON.stringify({ hello: 'ws', pid: process.pid }));
    socket.on('message', (data, isBinary) => {
      socket.send(data, { binary: isBinary });
    });
  });
}
