// A request body counted as the parser pushes it, HTTP/1 and HTTP/2 alike: a body without a
// Content-Length to check up front (chunked, or an HTTP/2 stream without one) is cut off at the
// limit even when the app streams it and never looks at its size.
import type { Readable } from 'node:stream';

/**
 * Once more than `limit` bytes have arrived, nothing more reaches the app (what follows is read
 * into nothing) and `over()` answers; what it returns is what the push returns.
 */
export function limitBody(req: Readable, limit: number, over: () => boolean): void {
  let seen = 0;
  const push = req.push.bind(req);
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk !== null && chunk !== undefined) {
      seen += (chunk as Buffer).length;
      if (seen > limit) {
        req.push = () => true;
        return over();
      }
    }
    return push(chunk, encoding);
  };
}
