// Small HTTP clients for talking to what the harness started: a status probe for
// readiness checks, and a request that returns the whole reply. No keep-alive
// (agent: false), and every call is bounded in time.
import http from 'node:http';
import https from 'node:https';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

/** One request, the whole body read as UTF-8; rejects on a socket error or after 20 s. */
export function request(url: string, opts: http.RequestOptions & { body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.end(opts.body);
  });
}

export interface ProbeOptions {
  /** Connect to this address (default 127.0.0.1). */
  host?: string;
  /** The Host header; default Node's (host:port). */
  hostHeader?: string;
  /** HTTPS, the certificate not verified (the development certificates are self-signed). */
  tls?: boolean;
  /** Connect to this unix socket instead (host and port unused). */
  socketPath?: string;
}

/** GET `path` on `port` (or `o.socketPath`): the status, or 0 when nothing answered within 2 s. Never rejects. */
export function httpStatus(port: number, path: string, o: ProbeOptions = {}): Promise<number> {
  return new Promise((resolve) => {
    const opts = {
      host: o.host ?? '127.0.0.1',
      port,
      path,
      ...(o.socketPath ? { socketPath: o.socketPath } : {}),
      agent: false as const,
      rejectUnauthorized: false,
      ...(o.hostHeader ? { headers: { host: o.hostHeader } } : {}),
    };
    const req = (o.tls ? https : http).get(opts, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => resolve(0));
  });
}
