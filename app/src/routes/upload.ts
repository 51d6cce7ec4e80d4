// POST /upload streams the request body through sha256 and answers its size
// and digest. The body is never held in memory, so the endpoint shows how each
// topology moves a large body (nginx buffers it to disk first; the gateway and
// the standalone server hand it straight to the app).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Limits } from '@gw/limits';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

/** What /upload answers. */
export interface Digest {
  bytes: number;
  sha256: string;
}

const EMPTY_DIGEST: Digest = { bytes: 0, sha256: createHash('sha256').digest('hex') };

/**
 * Reads `body` to its end, hashing as it goes. Rejects with a 413 AppError as
 * soon as more than `limit` bytes are announced (Content-Length) or received
 * (chunked bodies, lying clients). On overflow the stream is paused, not
 * destroyed: destroying a request destroys its socket, and the client would
 * never see the 413. Fastify answers a parser error with `Connection: close`,
 * which ends the connection after the response.
 */
export function digestBody(body: Readable, limit: number, announcedLength?: string): Promise<Digest> {
  return new Promise((resolve, reject) => {
    if (announcedLength !== undefined && Number(announcedLength) > limit) {
      reject(new AppError('APP_ERR_BODY_TOO_LARGE', limit));
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: Buffer | string): void => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += buffer.length;
      if (bytes > limit) {
        cleanup();
        body.pause();
        reject(new AppError('APP_ERR_BODY_TOO_LARGE', limit));
        return;
      }
      hash.update(buffer);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ bytes, sha256: hash.digest('hex') });
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(Object.assign(error, { statusCode: 400 }));
    };
    // 'close' before 'end': the client went away mid-body.
    const onClose = (): void => {
      cleanup();
      reject(Object.assign(new Error('Request body ended before it was complete'), { statusCode: 400 }));
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}

export async function uploadRoutes(app: FastifyInstance, opts: { limits: Limits }): Promise<void> {
  const limit = opts.limits.bodyLimitBytes;

  // Encapsulated: only this plugin's routes lose the JSON/text parsers. '*' then
  // catches every content type (and a body sent without one).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    digestBody(payload, limit, request.headers['content-length']).then(
      (digest) => {
        done(null, digest);
      },
      (error: Error) => {
        done(error, undefined);
      },
    );
  });

  app.post(
    '/upload',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { bytes: { type: 'integer' }, sha256: { type: 'string' }, pid: { type: 'integer' } },
            required: ['bytes', 'sha256', 'pid'],
          },
        },
      },
    },
    async (request) => {
      // No body and no Content-Type: Fastify skips the parser entirely.
      const digest = (request.body as Digest | undefined) ?? EMPTY_DIGEST;
      return { ...digest, pid: process.pid };
    },
  );
}
