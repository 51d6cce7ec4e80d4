/**
 * The checks every request head gets before the app sees it: the limits the parser does not
 * enforce (request line, header count and field size, declared body size), and proxy-header
 * vetting. One pass over the raw head, run once per request: when a `Expect: 100-continue` request
 * is vetted before its "100 Continue", the scan is kept on the request and the pipeline reuses it.
 */
import type { IncomingMessage } from 'node:http';
import { applyDirect, applyForwarded, resolveForwarded, type TrustFn } from './forwarded.js';
import { rawRefusal } from './refusals.js';
import type { Config } from './settings.js';

export interface Refusal {
  status: 413 | 414 | 431;
  message: string;
}

/** What one pass over the head tells; req.headers (built lazily by Node) is not touched. */
export interface HeadScan {
  refusal: Refusal | undefined;
  contentLength: string | undefined;
  chunked: boolean;
  forwarded: boolean;
}

/** Where a scan made before the request reached the pipeline is kept (a symbol: no per-request allocation). */
const HEAD_SCAN = Symbol('gateway.headScan');
type Scanned = IncomingMessage & { [HEAD_SCAN]?: HeadScan };

const FORWARDED_NAMES = new Set(['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/**
 * One pass over the raw head: request line (the parser only caps the head as a whole), header
 * count and field size, declared body size; and what the caller needs to know of the head.
 */
function scanHead(req: IncomingMessage, config: Config): HeadScan {
  const out: HeadScan = { refusal: undefined, contentLength: undefined, chunked: false, forwarded: false };
  // The request line is method SP target SP HTTP/x.y.
  if ((req.method?.length ?? 0) + (req.url?.length ?? 0) + 10 > config.limit_request_line) {
    out.refusal = { status: 414, message: `request line is longer than ${config.limit_request_line} bytes` };
    return out;
  }
  const raw = req.rawHeaders;
  if (raw.length / 2 > config.limit_request_fields) {
    out.refusal = { status: 431, message: `more than ${config.limit_request_fields} header fields` };
    return out;
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // name + ": " + value, as it stood on the wire
    if (name.length + raw[i + 1]!.length + 2 > config.limit_request_field_size) {
      out.refusal = {
        status: 431,
        message: `header field ${name} is larger than ${config.limit_request_field_size} bytes`,
      };
      return out;
    }
    const n = name.length;
    if (n === 14 || n === 17 || n === 9 || n === 15 || n === 16) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') out.contentLength = raw[i + 1];
      else if (lower === 'transfer-encoding') out.chunked = true;
      else if (FORWARDED_NAMES.has(lower)) out.forwarded = true;
    }
  }
  const limit = config.limit_request_body;
  if (limit > 0 && out.contentLength !== undefined && Number(out.contentLength) > limit) {
    out.refusal = { status: 413, message: `request body is larger than ${limit} bytes` };
  }
  return out;
}

/** The head's scan: the one made before a "100 Continue" if there was one, else made now. */
export function vetHead(req: IncomingMessage, config: Config): HeadScan {
  return (req as Scanned)[HEAD_SCAN] ?? scanHead(req, config);
}

/**
 * Whether a request that says `Expect: 100-continue` may be told to send its body: the same head
 * checks as the pipeline's, whose result the pipeline then reuses. Without this, Node answers
 * "100 Continue" on its own and the client uploads a body that is then refused with 413.
 */
export function mayContinue(req: IncomingMessage, config: Config): boolean {
  const head = scanHead(req, config);
  (req as Scanned)[HEAD_SCAN] = head;
  return head.refusal === undefined;
}

/**
 * Sets X-Forwarded-For/Proto/Host to the gateway's verdict on every request (forwarded.ts). Without
 * forwarded headers in the head (a direct client, or a proxy that sets none) there is nothing to
 * resolve: the socket's values are copied in, which costs a few assignments.
 */
export function vetForwarded(req: IncomingMessage, head: HeadScan, trust: TrustFn): void {
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  if (head.forwarded) applyForwarded(req, resolveForwarded(req, trust, encrypted));
  else applyDirect(req, encrypted);
}

/**
 * The same head checks and proxy-header vetting for an Upgrade request (WebSocket) before the app
 * takes the connection over. Returns the refusal to write on the raw socket, if any.
 */
export function vetUpgrade(req: IncomingMessage, config: Config, trust: TrustFn): string | undefined {
  const head = scanHead(req, config);
  if (head.refusal) return rawRefusal(head.refusal.status);
  vetForwarded(req, head, trust);
  return undefined;
}
