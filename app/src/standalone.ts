// The app's own server, the `flask run` of this project: one process, no
// workers. In the proxy topology it sits behind nginx. Listens on HOST:PORT,
// and on SIGTERM/SIGINT drains and stops gracefully.
import type { AddressInfo } from 'node:net';
import { loadLimits } from '@gw/limits';
import { buildApp } from './app.js';
import { readStandaloneEnv } from './env.js';

async function main(): Promise<void> {
  const env = readStandaloneEnv();
  const limits = loadLimits();
  const app = await buildApp({ trustProxy: env.trustProxy, logger: { level: env.logLevel } });

  // nginx reuses upstream connections for nginxUpstreamKeepAliveTimeoutS; this
  // must be longer, or nginx may send a request on a socket we are closing.
  app.server.keepAliveTimeout = limits.gatewayKeepAliveTimeoutS * 1000;

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, 'draining: finishing in-flight requests');
    // /readyz turns 503 and responses carry Connection: close; close() then stops
    // the listener, closes idle keep-alive sockets and waits for busy ones.
    app.markDraining();
    let forced = false;
    const deadline = setTimeout(() => {
      forced = true;
      app.log.warn({ gracefulTimeoutS: limits.gracefulTimeoutS }, 'graceful timeout: closing remaining connections');
      app.server.closeAllConnections();
    }, limits.gracefulTimeoutS * 1000);
    deadline.unref();
    app.close().then(
      () => {
        app.log.info('stopped');
        process.exit(forced ? 1 : 0);
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await app.listen({
    host: env.host,
    port: env.port,
    // One line per bound address; pino adds pid, and tests read the port from it.
    listenTextResolver: (address) => `listening on ${address}`,
  });
  const { port } = app.server.address() as AddressInfo;
  app.log.debug({ host: env.host, port, trustProxy: env.trustProxy }, 'standalone server ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
