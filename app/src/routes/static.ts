// GET /static/... serves the files in app/static through @fastify/static, so
// the proxy topology can compare them with nginx serving the same directory.
// The files are made by scripts/make-static.mjs, and their .gz and .br variants
// by scripts/precompress.mjs (both run by `npm run build`).
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance } from 'fastify';

/** app/static, from both app/src/routes (tsx) and app/dist/routes. */
export const DEFAULT_STATIC_ROOT = fileURLToPath(new URL('../../static/', import.meta.url));

/** Cache-Control max-age of static responses, in seconds; nginx's `expires` should match. */
export const STATIC_MAX_AGE_S = 3600;

export async function staticRoutes(app: FastifyInstance, opts: { root: string }): Promise<void> {
  // @fastify/send answers a path with `..` in it 403; a 404 says less about the
  // layout around the root, and matches what a missing file gets.
  const inherited = app.errorHandler;
  app.setErrorHandler(function (error: FastifyError, request, reply) {
    if (error.statusCode === 403) return reply.callNotFound();
    return inherited.call(this, error, request, reply);
  });

  await app.register(fastifyStatic, {
    root: opts.root,
    prefix: '/static/',
    // Resolved per request (not globbed at boot), so files made after start are served.
    wildcard: true,
    index: ['index.html'],
    list: false,
    // Dotfiles (.gitignore and friends) are not content: 404, as nginx does with a deny rule.
    dotfiles: 'ignore',
    etag: true,
    lastModified: true,
    cacheControl: true,
    maxAge: STATIC_MAX_AGE_S * 1000,
    decorateReply: false,
    // FILE.br or FILE.gz (made at build time by scripts/precompress.mjs) when the
    // client's Accept-Encoding takes it, brotli first: nothing is compressed per
    // request. Content-Type stays the file's; ETag and Content-Length are the
    // variant's. A file without variants (too small, not text) is sent as it is.
    preCompressed: true,
    // Which representation is sent depends on Accept-Encoding, so a cache must
    // keep them apart. @fastify/static does not say so itself; every static
    // response says it (also of files without variants: one rule, no stat).
    setHeaders: (res) => {
      res.setHeader('Vary', 'Accept-Encoding');
    },
  });
}
