/**
 * Warns when the app opens a server of its own in a worker. An app that still calls listen()
 * (Express's `app.listen(3000)`, `fastify.listen()`) opens a second port beside the gateway's, in
 * every worker: requests there skip the gateway's limits, timeouts and metrics, and with several
 * workers only the first one binds it (the others fail with EADDRINUSE, often unseen).
 *
 * A warning, not a refusal: an app may have good reasons for a port of its own (an admin or
 * debug endpoint, a WebSocket server on another port, a test that listens on port 0), and an app
 * that works today should not stop booting because of it. The warning names the address and the
 * app's line that called listen(), once per call, in every worker.
 */
import net from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from 'pino';

const OWN = new WeakSet<net.Server>();
const GATEWAY_DIR = fileURLToPath(new URL('.', import.meta.url));
const GATEWAY_URL = pathToFileURL(GATEWAY_DIR).href;
let installed = false;

/** Marks a server the gateway created itself: its listen() is the gateway's own. */
export function ownServer(server: net.Server): void {
  OWN.add(server);
}

/** What listen() was asked for, in the words of its arguments (port, host, path or options). */
export function describeListen(args: readonly unknown[]): string {
  const [first, second] = args;
  if (first === undefined || typeof first === 'function') return 'a random port';
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first)))
    return typeof second === 'string' ? `${second}:${first}` : `port ${first}`;
  if (typeof first === 'string') return first; // a unix socket or a named pipe
  if (typeof first === 'object' && first !== null) {
    const o = first as { port?: unknown; host?: unknown; path?: unknown; fd?: unknown };
    if (typeof o.path === 'string') return o.path;
    if (o.port !== undefined) return typeof o.host === 'string' ? `${o.host}:${o.port}` : `port ${o.port}`;
    if (o.fd !== undefined) return `fd ${o.fd}`;
    return 'a handle';
  }
  return String(first);
}

/**
 * The first frame of the stack that is neither Node's nor the gateway's, preferring one outside
 * node_modules: the app's line that called listen() (through Express's app.listen, say).
 */
export function appFrame(stack: string | undefined): string | undefined {
  const frames = (stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replace(/^at /, ''))
    .filter((f) => !/(^|\()node:/.test(f) && !f.includes(GATEWAY_DIR) && !f.includes(GATEWAY_URL));
  return frames.find((f) => !f.includes('/node_modules/')) ?? frames[0];
}

/** Wraps net.Server's listen() for the life of this process (every http/https/net server has it). */
export function guardListen(log: Logger): void {
  if (installed) return;
  installed = true;
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function guardedListen(this: net.Server, ...args: unknown[]) {
    if (!OWN.has(this)) {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 30;
      const stack = new Error('listen').stack;
      Error.stackTraceLimit = limit;
      const address = describeListen(args);
      const frame = appFrame(stack);
      log.warn(
        { address, ...(frame ? { frame } : {}) },
        `The app opened its own server on ${address}${frame ? ` (listen() at ${frame})` : ''}: it bypasses ` +
          "the gateway's limits, timeouts and metrics, and with several workers only one can bind it. " +
          'Export the app instead of calling listen()',
      );
    }
    return listen.apply(this, args as Parameters<typeof listen>);
  } as typeof listen;
}
