/** CloseCodeSniffer: the close codes in a stream of server frames, however the writes split it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseCodeSniffer } from '../src/ws-frames.js';

/** A server frame (unmasked). */
function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext);
  head[0] = 0x80 | opcode;
  head[1] = ext === 0 ? len : ext === 2 ? 126 : 127;
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  return Buffer.concat([head, payload]);
}

const code = (n: number, reason = '') => Buffer.concat([Buffer.from([n >> 8, n & 0xff]), Buffer.from(reason)]);

test('finds every close code past text, binary (16- and 64-bit lengths) and ping frames, split at any byte', () => {
  // Payloads that contain 0x88 (a close frame's first byte) must be skipped, not parsed.
  const stream = Buffer.concat([
    frame(0x1, Buffer.from('hello')),
    frame(0x2, Buffer.alloc(300, 0x88)),
    frame(0x9, Buffer.from('ping')),
    frame(0x8, code(1002, 'protocol error')),
    frame(0x2, Buffer.alloc(70_000, 0x88)),
    frame(0x8, code(1009)),
    frame(0x8, Buffer.alloc(0)),
  ]);
  for (const step of [1, 2, 3, 7, 1000, stream.length]) {
    const codes: number[] = [];
    const sniffer = new CloseCodeSniffer((c) => codes.push(c));
    for (let i = 0; i < stream.length; i += step) sniffer.feed(stream.subarray(i, i + step));
    assert.deepEqual(codes, [1002, 1009, 1005], `fed ${step} bytes at a time`);
  }
});
