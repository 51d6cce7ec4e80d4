/**
 * The HTTP/2 settings: one part of the one table in settings.ts, kept apart only for that file's
 * length. Their order here is their order in `--help` and docs/settings.md.
 */
import { spec, toInt } from './setting-spec.js';

export type HttpProtocol = 'h1' | 'h2';

/** `h1,h2` (Gunicorn 26's --http-protocols words); h1 is always served, so only h2 is a choice. */
export function toHttpProtocols(raw: unknown): HttpProtocol[] {
  const items = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : undefined;
  if (!items) throw new TypeError('expected a comma-separated list of h1, h2');
  const out = new Set<HttpProtocol>();
  for (const item of items.map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (item !== 'h1' && item !== 'h2') throw new TypeError(`"${item}" is not h1 or h2`);
    out.add(item);
  }
  // HTTP/1.1 stays: nginx speaks it upstream, health checks and curl default to it.
  if (!out.has('h1')) throw new TypeError('h1 cannot be turned off (nginx upstreams and health checks use it)');
  return [...out];
}

export const HTTP2_SETTINGS = [
  spec({
    name: 'http_protocols',
    section: 'Server mechanics',
    flags: ['--http-protocols'],
    kind: 'list',
    meta: 'LIST',
    default: ['h1', 'h2'] as HttpProtocol[],
    validate: toHttpProtocols,
    desc:
      'HTTP versions served: `h1,h2` or `h1`. With h2: on a `--certfile` port ALPN offers `h2` and `http/1.1` ' +
      '(browsers get HTTP/2); on a cleartext port, HTTP/2 by prior knowledge (h2c) from peers in ' +
      '`--forwarded-allow-ips` only, everyone else is served HTTP/1.x as if h2 were off. Never expose a ' +
      'cleartext port to trusted h2c from the internet.',
  }),
  spec({
    name: 'http2_max_concurrent_streams',
    section: 'Server mechanics',
    flags: ['--http2-max-concurrent-streams'],
    kind: 'int',
    meta: 'INT',
    default: 100,
    validate: toInt(1, 2 ** 31 - 1),
    desc:
      'Streams (requests) one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more ' +
      'are refused with REFUSED_STREAM. The HTTP/2 counterpart of the one request at a time of an HTTP/1.1 ' +
      'connection. Header list size, body size and timeouts use the HTTP/1 settings.',
  }),
] as const;
