/**
 * Follows the WebSocket frames an app writes after a 101 (server to client, RFC 6455 §5.2) and
 * reports the code of each close frame it sends. Only frame headers are read: a payload is skipped
 * by its length, so this costs a few operations per frame whatever the frame's size. The codes say
 * why the app ended a WebSocket: 1002 (protocol error), 1007 (invalid payload) and 1009 (too big)
 * mean the client sent a malformed or oversized frame, which the metrics count without the app
 * having to log each one. Control frames are never compressed, so permessage-deflate changes nothing.
 */
export class CloseCodeSniffer {
  /** The current frame's header bytes gathered so far (2 to 14). */
  private header: number[] = [];
  /** Payload bytes of the current frame still to come. */
  private skip = 0;
  /** Bytes of a close frame's code still to read (its first two payload bytes), and the code so far. */
  private codeBytes = 0;
  private code = 0;

  constructor(private readonly onClose: (code: number) => void) {}

  feed(buf: Uint8Array): void {
    let i = 0;
    while (i < buf.length) {
      if (this.skip > 0) {
        if (this.codeBytes > 0) {
          this.code = (this.code << 8) | buf[i]!;
          i++;
          this.skip--;
          if (--this.codeBytes === 0) this.onClose(this.code);
          continue;
        }
        const n = Math.min(this.skip, buf.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      this.header.push(buf[i]!);
      i++;
      this.frameStart();
    }
  }

  /** Once the header is whole: where the payload ends, and whether it starts with a close code. */
  private frameStart(): void {
    const h = this.header;
    if (h.length < 2) return;
    const masked = (h[1]! & 0x80) !== 0;
    const len7 = h[1]! & 0x7f;
    const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    if (h.length < 2 + extended + (masked ? 4 : 0)) return;
    let length = len7;
    if (extended > 0) {
      length = 0;
      // 8-byte lengths: a Number holds 2^53, far beyond any frame a server would send.
      for (let k = 2; k < 2 + extended; k++) length = length * 256 + h[k]!;
    }
    const opcode = h[0]! & 0x0f;
    this.header = [];
    this.skip = length;
    if (opcode !== 0x8) return;
    // A close frame with no code is reported as 1005 ("no status"), as the RFC names it; a server
    // never masks its frames, so a masked one is not followed.
    if (length < 2 || masked) this.onClose(1005);
    else {
      this.codeBytes = 2;
      this.code = 0;
    }
  }
}
