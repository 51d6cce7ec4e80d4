/**
 * Hostile WebSocket and Upgrade clients, on raw sockets (RFC 6455 framing written here, so the
 * fault scripts need no client library), each bounded in count and time. Used by
 * reliability/websockets.ts for the report and by the tests that reproduce each attack:
 *
 * - floodUnread: 1 MiB frames to an echo, never reading the echoes;
 * - poisonPool: `Upgrade:` on an ordinary route interleaved with other clients' POSTs;
 * - fillIdle: many WebSockets opened and left idle, then ordinary requests;
 * - malformedFrame: a frame with a reserved opcode.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

export const WS_KEY_HEADERS = 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/** A client frame (masked, as RFC 6455 requires of clients). */
export function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + 4);
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = 0x80 | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  const mask = randomBytes(4);
  mask.copy(head, 2 + ext);
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, body]);
}

export interface RawSocket {
  sock: net.Socket;
  /** The answer's status (101 for a WebSocket), 0 when the connection closed first. */
  status: number;
  /** The answer's head. */
  head: string;
  /** Resolves with the code of the first close frame the server sends, 'closed' if none came before the end. */
  closed: Promise<number | 'closed'>;
  /** Pings the server has sent so far. */
  pings: () => number;
}

export interface OpenOptions {
  host?: string;
  localAddress?: string;
  /** Extra header lines (`Name: value\r\n`). */
  headers?: string;
  /** Do not read after the handshake (the socket is paused once the head is in). */
  noRead?: boolean;
  limitMs?: number;
}

/** Opens a WebSocket on `port` + `path` by hand: the handshake, then frames parsed for close codes. */
export function openRaw(port: number, path: string, o: OpenOptions = {}): Promise<RawSocket> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    let buf = Buffer.alloc(0);
    let answered = false;
    let closeCode: number | undefined;
    let pings = 0;
    let settle: (v: number | 'closed') => void = () => {};
    const closed = new Promise<number | 'closed'>((r) => {
      settle = r;
    });
    const timer = setTimeout(() => sock.destroy(), o.limitMs ?? 10_000);
    const done = (status: number, head: string) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      resolve({ sock, status, head, closed, pings: () => pings });
    };
    sock.on('error', () => {});
    sock.on('close', () => {
      done(0, buf.toString('latin1'));
      settle(closeCode ?? 'closed');
    });
    sock.on('connect', () => {
      sock.write(
        `GET ${path} HTTP/1.1\r\nHost: ${o.host ?? 'localhost'}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`,
      );
      sock.write(`${WS_KEY_HEADERS}${o.headers ?? ''}\r\n`);
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!answered) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        done(Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), head);
        if (o.noRead) sock.pause();
      }
      // Server frames: unmasked, and the lengths used here fit 16 bits or 64 bits below 2^53.
      while (buf.length >= 2) {
        const len7 = buf[1]! & 0x7f;
        const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
        if (buf.length < 2 + ext) return;
        const len = ext === 0 ? len7 : ext === 2 ? buf.readUInt16BE(2) : Number(buf.readBigUInt64BE(2));
        if (buf.length < 2 + ext + len) return;
        const opcode = buf[0]! & 0x0f;
        const payload = buf.subarray(2 + ext, 2 + ext + len);
        if (opcode === 0x8 && closeCode === undefined) closeCode = len >= 2 ? payload.readUInt16BE(0) : 1005;
        if (opcode === 0x9) {
          pings++;
          if (!o.noRead) sock.write(clientFrame(0xa, Buffer.from(payload)));
        }
        buf = buf.subarray(2 + ext + len);
      }
    });
  });
}

export interface FloodResult {
  /** Frames the client managed to hand to the kernel. */
  sent: number;
  /** Whether the server stopped taking frames (the client's queue stayed full). */
  stalled: boolean;
  /** The server closed the connection meanwhile (code, or 'closed'), or undefined if it stayed open. */
  closed: number | 'closed' | undefined;
}

/**
 * Sends up to `frames` binary frames of `bytes` each to an echo and never reads an echo: one more
 * frame whenever the client's own queue is under `queueBytes`, until all are sent, the connection
 * closes, or nothing drains for `stallMs` (the server has stopped reading). Leaves the socket open.
 */
export async function floodUnread(
  ws: RawSocket,
  o: { frames: number; bytes: number; queueBytes?: number; stallMs?: number },
): Promise<FloodResult> {
  const payload = randomBytes(o.bytes);
  const queue = o.queueBytes ?? 2 * o.bytes;
  let sent = 0;
  let closed: number | 'closed' | undefined;
  void ws.closed.then((c) => {
    closed = c;
  });
  while (sent < o.frames && closed === undefined && !ws.sock.destroyed) {
    if (ws.sock.writableLength < queue) {
      ws.sock.write(clientFrame(0x2, payload));
      sent++;
      continue;
    }
    const drained = await new Promise<boolean>((r) => {
      const t = setTimeout(() => r(false), o.stallMs ?? 2000);
      ws.sock.once('drain', () => {
        clearTimeout(t);
        r(true);
      });
    });
    if (!drained) return { sent, stalled: true, closed };
  }
  return { sent, stalled: false, closed };
}

/** One request through a fresh connection (no pooling on the client side): its status, or an error. */
function rawRequest(port: number, text: string, limitMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    sock.setEncoding('latin1');
    sock.on('data', (c: string) => {
      out += c;
      // One answer is enough: the attacker does not wait for the server to close.
      if (/\r\n\r\n/.test(out)) sock.destroy();
    });
    sock.on('error', () => {});
    sock.on('close', () => resolve(/^HTTP\/1\.[01] (\d{3})/.exec(out)?.[1] ?? 'none'));
    sock.setTimeout(limitMs, () => sock.destroy());
    sock.write(text);
  });
}

export interface PoisonResult {
  victims: number;
  victimFailures: number;
  /** Failures by kind: `status 502`, `ECONNRESET`, ... */
  failures: Record<string, number>;
  attacks: number;
  /** The attacker's answers by status. */
  attackerStatus: Record<string, number>;
}

/**
 * `attacks` requests to an ordinary route carrying `Upgrade: <upgrade>` (each on a connection of
 * its own), interleaved with `victims` small POSTs from other clients on keep-alive connections,
 * `concurrency` of each at a time. Behind a proxy that pools upstream connections, an upgrade
 * answered with keep-alive and then closed poisons the connection for whoever is sent on it next.
 */
export async function poisonPool(
  port: number,
  o: { attacks: number; victims: number; concurrency: number; upgrade: string; path?: string },
): Promise<PoisonResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const failures: Record<string, number> = {};
  const attackerStatus: Record<string, number> = {};
  let victimFailures = 0;
  let victimsLeft = o.victims;
  let attacksLeft = o.attacks;
  const key = o.upgrade === 'websocket' ? WS_KEY_HEADERS : '';
  const attacker = async () => {
    while (attacksLeft-- > 0) {
      const s = await rawRequest(
        port,
        `GET ${o.path ?? '/'} HTTP/1.1\r\nHost: localhost\r\nUpgrade: ${o.upgrade}\r\nConnection: Upgrade\r\n${key}\r\n`,
      );
      attackerStatus[s] = (attackerStatus[s] ?? 0) + 1;
    }
  };
  const victim = async () => {
    while (victimsLeft-- > 0) {
      const outcome = await new Promise<string | undefined>((resolve) => {
        const req = http.request(
          { port, host: '127.0.0.1', method: 'POST', path: '/upload', agent, headers: { host: 'localhost' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode === 200 ? undefined : `status ${res.statusCode}`));
            res.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
          },
        );
        req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        req.end('victim body');
      });
      if (outcome !== undefined) {
        victimFailures++;
        failures[outcome] = (failures[outcome] ?? 0) + 1;
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: o.concurrency }, attacker),
    ...Array.from({ length: o.concurrency }, victim),
  ]);
  agent.destroy();
  return { victims: o.victims, victimFailures, failures, attacks: o.attacks, attackerStatus };
}

export interface FillResult {
  /** Handshake answers by status (101: open). */
  status: Record<string, number>;
  /** Ordinary GETs that failed while the sockets were open, of `requests`. */
  requests: number;
  failed: number;
}

/**
 * Opens `count` WebSockets on `path` from the local addresses given in turn (127.0.0.x: a client
 * per address), leaves them idle, then sends `requests` ordinary GETs of `/` (fresh connections)
 * and counts those that fail. Closes every socket before returning.
 */
export async function fillIdle(
  port: number,
  o: { count: number; path?: string; addresses?: string[]; requests?: number; batch?: number },
): Promise<FillResult> {
  const addresses = o.addresses ?? ['127.0.0.1'];
  const open: RawSocket[] = [];
  const status: Record<string, number> = {};
  const batch = o.batch ?? 50;
  try {
    for (let i = 0; i < o.count; i += batch) {
      const round = await Promise.all(
        Array.from({ length: Math.min(batch, o.count - i) }, (_, k) =>
          openRaw(port, o.path ?? '/ws', { localAddress: addresses[(i + k) % addresses.length]!, limitMs: 10_000 }),
        ),
      );
      for (const ws of round) {
        status[ws.status] = (status[ws.status] ?? 0) + 1;
        if (ws.status === 101) open.push(ws);
        else ws.sock.destroy();
      }
    }
    const requests = o.requests ?? 50;
    let failed = 0;
    for (let i = 0; i < requests; i++) {
      const s = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 5000);
      if (s !== '200') failed++;
    }
    return { status, requests, failed };
  } finally {
    for (const ws of open) ws.sock.destroy();
  }
}

/** Sends a frame with a reserved opcode (0x3) and resolves with the close code the server sends. */
export async function malformedFrame(port: number, path = '/ws'): Promise<number | 'closed' | 'not upgraded'> {
  const ws = await openRaw(port, path);
  if (ws.status !== 101) {
    ws.sock.destroy();
    return 'not upgraded';
  }
  ws.sock.write(clientFrame(0x3, Buffer.from('bad')));
  const timer = setTimeout(() => ws.sock.destroy(), 10_000);
  const code = await ws.closed;
  clearTimeout(timer);
  ws.sock.destroy();
  return code;
}
