/**
 * Closing a worker's connections without cutting a request. A drain stops accepting at once.
 * Every request from then on is its connection's last (`Connection: close`), and a request in
 * flight ends its connection too: a response not started yet gets the header, and one whose head
 * already promised keep-alive has its connection ended once it is complete.
 *
 * Kept-alive connections idle at that instant are not closed at once: a busy client reuses its
 * connection within milliseconds, and closing it just as the client sends would reset a request
 * (a POST cannot be retried). They get IDLE_GRACE_MS to send one more request, answered and then
 * closed; what is still idle after that is closed (Node's idle list, in which a freshly accepted
 * connection counts as active, so its first request is still answered). The grace is longer than
 * the idle timeout of a pooling balancer in front (nginx's upstream keepalive_timeout, 4 s in this
 * project's config), so such a balancer closes every connection it left idle before the gateway
 * would. Nothing here runs per request.
 */
import type { Server, ServerResponse } from 'node:http';
import net from 'node:net';

/** Longer than nginx's upstream keepalive_timeout (test/limits-agree.test.ts checks it). */
export const IDLE_GRACE_MS = 5000;

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
    const closed = Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            // Requests that start from now on are the connection's last.
            server.prependListener('request', (_req, res: ServerResponse) => res.setHeader('connection', 'close'));
            // net.Server's close: stop accepting, leave the connections to the grace below.
            if (server.listening) net.Server.prototype.close.call(server, () => resolve());
            else resolve();
            setTimeout(() => server.closeIdleConnections(), IDLE_GRACE_MS).unref();
          }),
      ),
    );
    for (const socket of this.sockets) {
      const res = socket._httpMessage;
      if (!res || res.writableFinished) continue;
      if (!res.headersSent) res.setHeader('connection', 'close');
      else res.once('finish', () => setImmediate(() => socket.end()));
    }
    return closed.then(() => undefined);
  }
}
