// The security headers nginx adds (nginx/includes/security-headers.conf), set by the app itself,
// so that the `gateway` topology (no nginx) answers with the same set. Like Django's
// SecurityMiddleware behind Gunicorn, this is the app's job, not the gateway's: a Content-Security-
// Policy or a framing rule says what this app's pages may do, and only the app knows that; the
// gateway hosts any app and cannot pick one for it. Behind nginx the same headers come from nginx
// (includes/proxy.conf hides these copies, so each appears once, and nginx's static files get
// them too); test/security-headers.test.ts compares the sets of the three topologies.
import type { FastifyInstance } from 'fastify';

/** The same names and values as nginx/includes/security-headers.conf. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * HTTPS only for a year, on HTTPS responses only (RFC 6797: meaningless, and not to be sent, over
 * plain HTTP); the value nginx.conf's `map $https $hsts` sends. The scheme is the request's as the
 * host vetted it (the gateway's X-Forwarded-Proto verdict: https when it terminates TLS itself).
 */
export const HSTS = 'max-age=31536000';

export function installSecurityHeaders(app: FastifyInstance): void {
  // onRequest: set before any handler, so error answers and 404s carry them too.
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
  });
}
