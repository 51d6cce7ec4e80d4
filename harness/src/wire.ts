/**
 * Raw HTTP/1.1 on a socket: what the bad-input, strictness and fuzz tests and the slow-client
 * attackers send, byte for byte, without a client library normalising it first. Every exchange is
 * bounded in time, and tells whether the server closed the connection (the point of many checks).
 */
import net from 'node:net';

export interface Exchange {
  /** Everything the server sent, as latin1 (byte-exact). */
  text: string;
  /** The server ended or reset the connection (rather than our time limit cutting it). */
  closed: boolean;
  /** Our limit ran out first. */
  timedOut: boolean;
  /** A socket error other than a reset, e.g. ECONNREFUSED. */
  error?: string;
}

export interface ExchangeOptions {
  host?: string;
  /** Source address (anything in 127.0.0.0/8): attackers and normal clients stay apart per IP. */
  localAddress?: string;
  limitMs?: number;
  /** Stop reading once the server sent this much (a well-formed answer need not wait for the close). */
  untilBytes?: number;
  /** Half-close after writing: "that is all I send" (a truncated request then ends at once). */
  endAfterWrite?: boolean;
}

export function exchange(
  port: number,
  payload: string | Buffer | Array<string | Buffer>,
  o: ExchangeOptions = {},
): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = net.connect({
      port,
      host: o.host ?? '127.0.0.1',
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean, timedOut: boolean, error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, timedOut, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(false, true), o.limitMs ?? 5000);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (o.untilBytes !== undefined && chunks.reduce((n, b) => n + b.length, 0) >= o.untilBytes) finish(false, false);
    });
    sock.on('end', () => finish(true, false));
    sock.on('close', () => finish(true, false));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after the answer is how servers refuse to read the rest of a bad request.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') finish(true, false);
      else finish(false, false, err.code ?? err.message);
    });
    sock.on('connect', () => {
      for (const part of Array.isArray(payload) ? payload : [payload]) sock.write(part);
      if (o.endAfterWrite) sock.end();
    });
  });
}

/** Status codes of every response in `text`, in order (a 100 Continue counts). */
export function statuses(text: string): number[] {
  return [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

/** The body of the last response in `text` (after its head), as far as it was received. */
export function lastBody(text: string): string {
  const i = text.lastIndexOf('\r\n\r\n');
  return i === -1 ? '' : text.slice(i + 4);
}
