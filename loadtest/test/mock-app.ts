// A stand-in for the sample app, just enough for the k6 scripts' checks to
// pass: same routes, same JSON shapes, same limits semantics. Listens on
// 127.0.0.1 only. Used by k6-scripts.test.ts so the scripts can be run for
// real without building app/ (whose tests cover the real thing).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface MockOptions {
  bodyLimitBytes: number;
  maxWaitMs?: number;
  maxCpuMs?: number;
}

export interface MockApp {
  server: Server;
  baseUrl: string;
  /** TCP connections accepted so far. */
  connections: () => number;
  /** Requests answered so far, by path. */
  hits: Map<string, number>;
  close: () => Promise<void>;
}

/** Contents of the mock's static files; their sizes are what the scripts are told to expect. */
function text(bytes: number): Buffer {
  return Buffer.from('gateway worker master proxy nginx upstream\n'.repeat(Math.ceil(bytes / 44)).slice(0, bytes));
}
const FILES = [
  { name: '1k.txt', body: text(1024), type: 'text/plain; charset=utf-8' },
  { name: '1m.txt', body: text(1024 * 1024), type: 'text/plain; charset=utf-8' },
  { name: '64k.bin', body: Buffer.alloc(64 * 1024, 7), type: 'application/octet-stream' },
];
/** The mock's static files (names as app/scripts/make-static.mjs makes them), with gzip precomputed. */
export const STATIC_FILES: Record<string, { body: Buffer; gzip: Buffer; type: string }> = Object.fromEntries([
  ...FILES.map((f) => [`/static/${f.name}`, { body: f.body, gzip: gzipSync(f.body), type: f.type }]),
  [
    '/static/manifest.json',
    (() => {
      const body = Buffer.from(JSON.stringify({ files: FILES.map((f) => ({ name: f.name, bytes: f.body.length })) }));
      return { body, gzip: gzipSync(body), type: 'application/json' };
    })(),
  ],
]);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function error(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const names: Record<number, string> = {
    400: 'Bad Request',
    404: 'Not Found',
    413: 'Payload Too Large',
    500: 'Internal Server Error',
  };
  send(res, status, { statusCode: status, error: names[status] ?? 'Error', message }, headers);
}

/** ?ms= as the app validates it: an integer in [0, max]. */
function msParam(url: URL, max: number): number | null {
  const raw = url.searchParams.get('ms');
  if (raw === null || !/^\d+$/.test(raw)) return null;
  const ms = Number(raw);
  return ms <= max ? ms : null;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let over = Number(req.headers['content-length'] ?? 0) > limit;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) over = true;
      // Over the limit: keep reading (and dropping) so the client sees the 413.
      if (!over) chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(over ? null : Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export async function startMockApp(opts: MockOptions): Promise<MockApp> {
  const maxWaitMs = opts.maxWaitMs ?? 30000;
  const maxCpuMs = opts.maxCpuMs ?? 5000;
  const items: Array<{ id: number; name: string; price: number; tags: string[]; createdAt: string }> = [];
  const hits = new Map<string, number>();
  let connections = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) error(res, 500, String(err));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://mock');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    hits.set(route, (hits.get(route) ?? 0) + 1);
    switch (route) {
      case 'GET /':
        return send(res, 200, { hello: 'world', pid: process.pid });
      case 'GET /healthz':
        return send(res, 200, { status: 'ok', pid: process.pid });
      case 'GET /readyz':
        return send(res, 200, { status: 'ready', pid: process.pid });
      case 'GET /whoami':
        return send(res, 200, {
          ip: req.socket.remoteAddress,
          ips: [req.socket.remoteAddress],
          scheme: 'http',
          host: req.headers.host,
          peer: req.socket.remoteAddress,
          httpVersion: req.httpVersion,
          pid: process.pid,
        });
      case 'GET /slow': {
        const ms = msParam(url, maxWaitMs);
        if (ms === null) return error(res, 400, `querystring/ms must be an integer in [0, ${maxWaitMs}]`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        return send(res, 200, { ms, pid: process.pid });
      }
      case 'GET /cpu': {
        const ms = msParam(url, maxCpuMs);
        if (ms === null) return error(res, 400, `querystring/ms must be an integer in [0, ${maxCpuMs}]`);
        const end = performance.now() + ms;
        while (performance.now() < end) {
          /* spin */
        }
        return send(res, 200, { ms, pid: process.pid });
      }
      case 'GET /fail':
        return error(res, 500, 'failing on purpose');
      case 'POST /upload': {
        const body = await readBody(req, opts.bodyLimitBytes);
        if (body === null)
          return error(res, 413, `Request body is larger than ${opts.bodyLimitBytes} bytes`, { connection: 'close' });
        return send(res, 200, {
          bytes: body.length,
          sha256: createHash('sha256').update(body).digest('hex'),
          pid: process.pid,
        });
      }
      case 'GET /stream': {
        const chunks = Number(url.searchParams.get('chunks') ?? 5);
        const intervalMs = Number(url.searchParams.get('intervalMs') ?? 200);
        res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
        for (let seq = 1; seq <= chunks; seq++) {
          if (seq > 1) await new Promise((resolve) => setTimeout(resolve, intervalMs));
          res.write(`${JSON.stringify({ seq, of: chunks, pid: process.pid, at: new Date().toISOString() })}\n`);
        }
        res.end();
        return;
      }
      case 'GET /api/items':
        return send(res, 200, { items, total: items.length, pid: process.pid });
      case 'POST /api/items': {
        const raw = await readBody(req, opts.bodyLimitBytes);
        let value: unknown = null;
        try {
          value = JSON.parse(String(raw));
        } catch {
          /* invalid below */
        }
        const v = value as { name?: unknown; price?: unknown; tags?: unknown } | null;
        const valid =
          v !== null &&
          typeof v === 'object' &&
          typeof v.name === 'string' &&
          typeof v.price === 'number' &&
          (v.tags === undefined || (Array.isArray(v.tags) && v.tags.every((t) => typeof t === 'string')));
        if (!valid) return error(res, 400, 'body must be {name: string, price: number, tags?: string[]}');
        const item = {
          id: items.length + 1,
          name: v.name as string,
          price: v.price as number,
          tags: (v.tags as string[] | undefined) ?? [],
          createdAt: new Date().toISOString(),
        };
        items.push(item);
        return send(res, 201, item);
      }
    }
    const itemId = req.method === 'GET' ? /^\/api\/items\/(\d+)$/.exec(url.pathname) : null;
    if (itemId !== null) {
      const item = items.find((i) => i.id === Number(itemId[1]));
      return item === undefined ? error(res, 404, `Item ${itemId[1]} not found`) : send(res, 200, item);
    }
    const file = req.method === 'GET' ? STATIC_FILES[url.pathname] : undefined;
    if (file !== undefined) {
      // Compress text when asked, as nginx's gzip does; leave binaries alone.
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && file.type.startsWith('text/');
      const body = gzip ? file.gzip : file.body;
      res.writeHead(200, {
        'content-type': file.type,
        'content-length': body.length,
        ...(gzip ? { 'content-encoding': 'gzip', vary: 'Accept-Encoding' } : {}),
      });
      res.end(body);
      return;
    }
    error(res, 404, `Route ${req.method ?? 'GET'}:${url.pathname} not found`);
  }

  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    baseUrl: `http://127.0.0.1:${port}`,
    connections: () => connections,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
