// The app's own server, the `flask run` of this project: one process, no
// workers. In the proxy topology it sits behind nginx. Listens on HOST:PORT,
// and on SIGTERM/SIGINT drains and stops gracefully, after SHUTDOWN_DELAY.
import net, { type AddressInfo } from 'node:net';
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

  let phase: 'serving' | 'delay' | 'closing' = 'serving';
  let delay: NodeJS.Timeout | undefined;
  const close = (): void => {
    phase = 'closing';
    clearTimeout(delay);
    // Every response from now on ends its connection.
    app.markDraining();
    app.log.info('draining: finishing in-flight requests');
    let forced = false;
    const deadline = setTimeout(() => {
      forced = true;
      app.log.warn({ gracefulTimeoutS: limits.gracefulTimeoutS }, 'graceful timeout: closing remaining connections');
      app.server.closeAllConnections();
    }, limits.gracefulTimeoutS * 1000);
    deadline.unref();
    // Stop accepting, but leave idle keep-alive connections to their peer for a moment: nginx
    // closes an idle upstream connection after nginxUpstreamKeepAliveTimeoutS, and closing one
    // here just as nginx sends a request on it would cut that request (a POST it cannot retry).
    // app.close() then closes what is still idle and waits for what is busy.
    net.Server.prototype.close.call(app.server);
    const graceUntil = Date.now() + (limits.nginxUpstreamKeepAliveTimeoutS + 1) * 1000;
    const closeApp = (): void => {
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
    const waitForIdle = (): void => {
      app.server.getConnections((err, open) => {
        if (!err && open > 0 && Date.now() < graceUntil) setTimeout(waitForIdle, 100);
        else closeApp();
      });
    };
    waitForIdle();
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (phase === 'closing') {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    // A second signal during the delay cuts it short, as the gateway does.
    if (phase === 'delay') {
      close();
      return;
    }
    // /readyz turns 503; connections stay alive until the drain.
    app.markNotReady();
    if (env.shutdownDelayS === 0 || signal === 'SIGINT') {
      close();
      return;
    }
    phase = 'delay';
    app.log.info({ signal, shutdownDelayS: env.shutdownDelayS }, 'shutdown delay: not ready, still serving');
    delay = setTimeout(close, env.shutdownDelayS * 1000);
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
