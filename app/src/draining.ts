// Draining state: once marked, /readyz answers 503 so load balancers stop
// sending new work, and every response asks its client to close the
// connection so keep-alive sockets do not hold a stopping server open.
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** Marks the app as draining: /readyz → 503, responses carry `Connection: close`. Idempotent. */
    markDraining(): void;
    /**
     * /readyz → 503 only, connections kept alive as usual: the shutdown delay, in which a balancer
     * still sends requests (over its pooled connections: new ones would meet a listener that is
     * about to close). Idempotent.
     */
    markNotReady(): void;
    /** True once markNotReady() or markDraining() was called or close() has begun: /readyz 503. */
    isDraining(): boolean;
  }
}

/** Decorates `app` with markDraining()/isDraining() and the hooks that honour them. */
export function installDraining(app: FastifyInstance): void {
  let draining = false;
  let notReady = false;
  app.decorate('markDraining', (): void => {
    draining = true;
  });
  app.decorate('markNotReady', (): void => {
    notReady = true;
  });
  app.decorate('isDraining', (): boolean => draining || notReady);

  // Whoever closes the app (the standalone server, the gateway, a test) drains it.
  app.addHook('preClose', async () => {
    draining = true;
  });

  // Set at send time, so a request that was already in flight when draining began
  // also closes its connection; HTTP/1.1 only (the header is forbidden in HTTP/2).
  // Callback style: this runs on every response, and an async hook costs a promise each time.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (draining && request.raw.httpVersionMajor === 1) reply.header('connection', 'close');
    done(null, payload);
  });
}
