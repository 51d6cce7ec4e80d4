// The environment the app reads (the standalone server's HOST, PORT,
// TRUST_PROXY, SHUTDOWN_DELAY; LOG_LEVEL for both entries), parsed and checked in one place so
// a typo fails at boot with a clear message instead of binding somewhere odd.

/** Fastify's trustProxy values that an environment variable can express. */
export type TrustProxySetting = boolean | string | string[];

export interface StandaloneEnv {
  host: string;
  port: number;
  trustProxy: TrustProxySetting;
  logLevel: string;
  /** Seconds between SIGTERM and closing the listener (see parseShutdownDelay). */
  shutdownDelayS: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * TRUST_PROXY: `true`/`false`, or a comma list of IPs, CIDRs and proxy-addr
 * names (`loopback`, `linklocal`, `uniquelocal`). Default `loopback`: out of the
 * box only a proxy on the same host is believed. Hop counts are refused:
 * Fastify 5 treats them as "trust nobody", which would surprise.
 *
 * @example
 * parseTrustProxy('10.0.0.0/8, 127.0.0.1') // ['10.0.0.0/8', '127.0.0.1']
 */
export function parseTrustProxy(value: string | undefined): TrustProxySetting {
  const text = (value ?? '').trim();
  if (text === '') return 'loopback';
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^\d+$/.test(text))
    throw new RangeError(`TRUST_PROXY must be true, false or a list of addresses, got "${value}"`);
  const list = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  return list.length === 1 ? (list[0] as string) : list;
}

/** PORT: 0..65535; 0 asks the OS for a free port (the listen log line names it). */
export function parsePort(value: string | undefined): number {
  const text = (value ?? '').trim();
  if (text === '') return 3000;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new RangeError(`PORT must be an integer in 0..65535, got "${value}"`);
  return port;
}

/** LOG_LEVEL: a pino level; default info. */
export function parseLogLevel(value: string | undefined): string {
  const level = (value ?? '').trim() || 'info';
  if (!LOG_LEVELS.includes(level))
    throw new RangeError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return level;
}

/**
 * SHUTDOWN_DELAY: seconds, default 0. After SIGTERM the server reports not-ready (/readyz 503)
 * but keeps accepting and serving this long, so a balancer that still routes here (Kubernetes
 * endpoints, Swarm's DNS, nginx until it re-resolves) loses nothing; then the drain. The
 * gateway's --shutdown-delay, for the app's own server.
 *
 * @example
 * parseShutdownDelay('5') // 5
 */
export function parseShutdownDelay(value: string | undefined): number {
  const text = (value ?? '').trim();
  if (text === '') return 0;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds > 3600)
    throw new RangeError(`SHUTDOWN_DELAY must be a number of seconds in 0..3600, got "${value}"`);
  return seconds;
}

/** Reads HOST, PORT, TRUST_PROXY, LOG_LEVEL and SHUTDOWN_DELAY. */
export function readStandaloneEnv(env: NodeJS.ProcessEnv = process.env): StandaloneEnv {
  return {
    // Loopback by default, as `flask run` does; the container sets HOST=0.0.0.0.
    host: (env.HOST ?? '').trim() || '127.0.0.1',
    port: parsePort(env.PORT),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    logLevel: parseLogLevel(env.LOG_LEVEL),
    shutdownDelayS: parseShutdownDelay(env.SHUTDOWN_DELAY),
  };
}
