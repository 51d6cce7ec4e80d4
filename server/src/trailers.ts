/**
 * Trailer fields of a chunked request that RFC 9110 §6.5.1 forbids in trailers: framing, routing,
 * request modifiers, authentication and what says how to process the content. Node's parser
 * already refuses a trailer Content-Length or Transfer-Encoding with 400; the others would reach
 * the app in `req.trailers`, where a framework that merges trailers into the headers would let a
 * client change its Host or its Authorization after the head was vetted. They are dropped, not
 * refused: trailers arrive after the body, when the app may already have answered.
 */
import type { IncomingMessage } from 'node:http';

const FORBIDDEN = new Set([
  'content-length',
  'transfer-encoding',
  'trailer',
  'te',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'proxy-connection',
  'content-type',
  'content-encoding',
  'content-range',
  'expect',
  'max-forwards',
  'cache-control',
  'pragma',
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'authorization',
  'proxy-authorization',
  'cookie',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'x-request-id',
]);

type HeaderLines = (this: IncomingMessage, lines: string[], n: number) => void;

/**
 * Filters the trailer lines before Node stores them: its parser hands the head's and the
 * trailer's lines to `_addHeaderLines`, the trailer's once the message is complete (Node 20 to 26).
 * Called for chunked requests only, the only ones that can carry trailers.
 */
export function dropForbiddenTrailers(req: IncomingMessage): void {
  const target = req as IncomingMessage & { _addHeaderLines?: HeaderLines };
  const original = target._addHeaderLines;
  if (typeof original !== 'function') return;
  target._addHeaderLines = function (lines, n) {
    if (!this.complete) return original.call(this, lines, n);
    const kept: string[] = [];
    for (let i = 0; i < n; i += 2) {
      if (!FORBIDDEN.has(lines[i]!.toLowerCase())) kept.push(lines[i]!, lines[i + 1]!);
    }
    return original.call(this, kept, kept.length);
  };
}
