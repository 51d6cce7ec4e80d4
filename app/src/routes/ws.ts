// GET /ws: a WebSocket echo. Every message comes back as sent; the first one the
// server sends names the worker pid, so a client can tell which process holds it.
// Shows whether a topology passes upgrades through and how stops close them.
//
// A WebSocket is a long-lived connection a client controls, so the echo bounds
// what one client can cost (reliability/websockets.ts attacks each):
// - back-pressure: an echo is queued for a client only while less than
//   MAX_WS_BUFFERED_BYTES wait to be written to it; past that the server stops
//   reading from it until the queue drains, so a client that sends and never
//   reads fills its own TCP window, not the server's memory;
// - heartbeat: every WS_PING_INTERVAL_S the server pings each client, and one
//   that has not answered the previous ping (or whose pong the server could not
//   read, being paused on it) is terminated;
// - idle timeout: a client that sends no message for WS_IDLE_TIMEOUT_S is closed
//   with 1000 "idle timeout" (answering pings is not enough to hold a slot);
// - a malformed or oversized frame is one info line (no stack trace): the ws
//   library has already sent the close code (1002, 1007, 1009), which the
//   gateway counts in its metrics.
import websocket, { type WebSocket } from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';

/** Largest message accepted; a bigger one closes the socket with 1009. */
export const MAX_WS_MESSAGE_BYTES = 1024 * 1024;
/** Bytes waiting to be written to one client before the server stops reading from it. */
export const MAX_WS_BUFFERED_BYTES = 4 * MAX_WS_MESSAGE_BYTES;

export interface WebSocketTimers {
  /** Seconds between two pings; a client that misses one is terminated. */
  pingIntervalS: number;
  /** Seconds without a message from the client before it is closed. */
  idleTimeoutS: number;
}

function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number of seconds, got "${raw}"`);
  return n;
}

/** WS_PING_INTERVAL_S (default 30) and WS_IDLE_TIMEOUT_S (default 300) from the environment. */
export function webSocketTimers(): WebSocketTimers {
  return { pingIntervalS: seconds('WS_PING_INTERVAL_S', 30), idleTimeoutS: seconds('WS_IDLE_TIMEOUT_S', 300) };
}

interface ClientState {
  /** Whether the client answered the last ping. */
  alive: boolean;
  /** When its last message came (performance.now()). */
  lastMessage: number;
}

/**
 * Registers the WebSocket plugin on `app` itself (called directly, not through
 * app.register, so app.websocketServer is decorated on the root instance the
 * gateway holds), then the route.
 */
export async function installWebSocket(app: FastifyInstance, timers = webSocketTimers()): Promise<void> {
  // On close, every client gets 1001 "going away" (the plugin's default sends no
  // code). The plugin also exposes app.websocketServer, which the gateway uses to
  // do the same when a worker drains.
  await app.register(websocket, {
    options: { maxPayload: MAX_WS_MESSAGE_BYTES },
    preClose(done) {
      const server = this.websocketServer;
      for (const client of server.clients) {
        // One paused by back-pressure would not read the client's answer (or its end).
        client.resume();
        client.close(1001, 'going away');
      }
      server.close(() => {
        done();
      });
    },
    // The plugin's default logs the error at error level with its stack: one
    // line per malformed frame a client chooses to send.
    errorHandler(error, socket, request) {
      const code = (error as { code?: string }).code;
      request.log.info({ code, peer: request.ip }, `WebSocket closed: ${error.message}`);
      socket.terminate();
    },
  });
  const clients = new WeakMap<WebSocket, ClientState>();
  const heartbeat = setInterval(() => {
    const now = performance.now();
    for (const client of app.websocketServer.clients) {
      const state = clients.get(client);
      if (!state) continue;
      // Paused on a queue of pongs (a client that pings and never reads) that has drained since.
      if (client.isPaused && client.bufferedAmount < MAX_WS_BUFFERED_BYTES / 2) client.resume();
      if (!state.alive) {
        client.terminate();
        continue;
      }
      if (now - state.lastMessage > timers.idleTimeoutS * 1000) {
        client.close(1000, 'idle timeout');
        continue;
      }
      state.alive = false;
      client.ping();
    }
  }, timers.pingIntervalS * 1000);
  heartbeat.unref();
  app.addHook('onClose', (_app, done) => {
    clearInterval(heartbeat);
    done();
  });
  await app.register(async (scope) => wsRoutes(scope, clients));
}

/** Sends, and stops reading from the client while too much waits to be written to it. */
function sendBounded(socket: WebSocket, data: unknown, binary: boolean): void {
  socket.send(data as Buffer, { binary }, () => {
    if (socket.isPaused && socket.bufferedAmount < MAX_WS_BUFFERED_BYTES / 2) socket.resume();
  });
  if (!socket.isPaused && socket.bufferedAmount > MAX_WS_BUFFERED_BYTES) socket.pause();
}

async function wsRoutes(app: FastifyInstance, clients: WeakMap<WebSocket, ClientState>): Promise<void> {
  app.get('/ws', { websocket: true }, (socket) => {
    const state: ClientState = { alive: true, lastMessage: performance.now() };
    clients.set(socket, state);
    socket.on('pong', () => {
      state.alive = true;
    });
    // ws answers each ping with a pong by itself: a client that pings and never reads would queue
    // them without bound.
    socket.on('ping', () => {
      if (!socket.isPaused && socket.bufferedAmount > MAX_WS_BUFFERED_BYTES) socket.pause();
    });
    socket.send(JSON.stringify({ hello: 'ws', pid: process.pid }));
    socket.on('message', (data, isBinary) => {
      state.lastMessage = performance.now();
      sendBounded(socket, data, isBinary);
    });
  });
}
