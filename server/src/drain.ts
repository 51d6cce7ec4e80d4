/**
 * Closing a worker's connections without cutting a request. A drain stops accepting and closes
 * the kept-alive connections that sit between requests (Node's own idle list, in which a freshly
 * accepted connection counts as active, so its first request is still answered). A request in
 * flight ends its connection: a response not started yet gets `Connection: close`, and one whose
 * head already promised keep-alive has its connection ended once it is complete. Without that,
 * a kept-alive client in the middle of a request at stop time would hold the worker until the
 * graceful timeout. Nothing here runs per request.
 */
import type { Server, ServerResponse } from 'node:http';
import type net from 'node:net';

type WithResponse = net.Socket & { _httpMessage?: ServerResponse | null };

export class ConnectionDrain {
  draining = false;
  private readonly sockets = new Set<WithResponse>();

  track(server: Server): void {
    server.on('connection', (socket: WithResponse) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Stops accepting on every server and resolves when all their connections are gone. */
  drain(servers: Server[]): Promise<void> {
    this.draining = true;
    const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => {
      // Requests that start from now on are the connection's last.
      server.prependListener('request', (_req, res: ServerResponse) => res.setHeader('connection', 'close'));
      // http.Server.close(): stop accepting, and close the connections idle right now.
      if (server.listening) server.close(() => resolve());
      else resolve();
    })));
    for (const socket of this.sockets) {
      const res = socket._httpMessage;
      if (!res || res.writableFinished) continue;
      if (!res.headersSent) res.setHeader('connection', 'close');
      else res.once('finish', () => setImmediate(() => socket.end()));
    }
    return closed.then(() => undefined);
  }
}
