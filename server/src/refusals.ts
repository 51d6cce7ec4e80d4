/**
 * How the gateway answers on its own behalf: an empty answer written straight on a socket that has
 * no ServerResponse (a malformed head, a refused upgrade), or a JSON one that closes the connection,
 * lingering so that a client still sending its body reads the answer instead of a reset.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** An empty answer written straight on a socket that has no ServerResponse (bad head, upgrade). */
export function rawRefusal(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
}

/** Answers on the gateway's behalf and closes the connection: the rest of the request is not passed on. */
export function reject(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ statusCode: status, error: STATUS_TEXT[status] ?? 'Error', message });
  const head = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) };
  // HTTP/2 has no Connection header and closes only the stream (http2-server.ts ends a stream whose
  // request is still coming once its answer is out); HTTP/1 closes the connection, lingering.
  if (res.req.httpVersionMajor === 2) {
    res.writeHead(status, head);
  } else {
    res.writeHead(status, { ...head, connection: 'close' });
    if (!res.req.complete) lingeringClose(res.req.socket);
  }
  res.end(body);
}

/** How long a refused request's connection goes on reading, and discarding, what the client sends. */
const LINGER_MS = 5000;

/**
 * nginx's lingering close. A refusal often comes while the client is still sending its body (a 413
 * on the declared length comes before any of it). Closing a socket with unread data makes the
 * kernel answer with a reset, and a client still writing then sees EPIPE or ECONNRESET instead of
 * the 413 already on its way (measured: 19 of 30 uploads of 10 MiB + 1 lost it). So after the
 * answer only the sending side is closed; Node goes on reading and discarding the body (it dumps an
 * unread request once the response is done) until the client closes, for LINGER_MS at most.
 */
function lingeringClose(socket: Socket): void {
  // What Node calls once a `Connection: close` response is written: end, then destroy at once.
  socket.destroySoon = function (this: Socket) {
    if (this.writable) this.end();
  };
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('end', () => socket.destroy());
  socket.once('close', () => clearTimeout(timer));
}
