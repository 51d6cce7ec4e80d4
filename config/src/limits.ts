/**
 * config/limits.json, read and checked in one place: the numbers that nginx, the gateway and the
 * app must agree on (one source of truth). Every key is declared here once, with what it is for. A
 * declared key the file lacks, a key of the file that is not declared (a typo would otherwise go
 * unnoticed) and a value that is not a positive finite number are errors naming the key, so a
 * broken file stops a process at start, not under load. Keys starting with `$` are comments.
 *
 * nginx and compose cannot read JSON: test/limits-agree.test.ts checks their literals against it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Every key of config/limits.json and who uses it. */
export const LIMIT_KEYS = {
  bodyLimitBytes:
    "Largest request body, in bytes: nginx's client_max_body_size, the gateway's limit_request_body, the app's.",
  maxWaitMs: "Upper bound of the app's GET /slow?ms= and of a /stream response's total duration.",
  maxCpuMs: "Upper bound of the app's GET /cpu?ms= (a blocked event loop; the gateway's heartbeat must notice longer).",
  gatewayKeepAliveTimeoutS: "The gateway's (and the standalone app's) keep-alive: longer than nginx's upstream one.",
  nginxUpstreamKeepAliveTimeoutS:
    "nginx's upstream keepalive_timeout: nginx, not the backend, closes idle connections.",
  workerTimeoutS: "The gateway's default timeout: a worker silent this long is hung.",
  gracefulTimeoutS: 'How long in-flight requests may take after SIGTERM (the gateway and the standalone app).',
  shutdownDelayS:
    "The gateway's shutdown_delay in the deployments (GATEWAY_SHUTDOWN_DELAY; its own default is 0): after " +
    'SIGTERM, /readyz is 503 but it keeps serving this long, while balancers and endpoints take it out.',
  proxyReadTimeoutS: "nginx's proxy_read_timeout and proxy_send_timeout: longer than any request the app allows.",
  stopGracePeriodS:
    "compose's stop_grace_period: at least shutdownDelayS + gracefulTimeoutS + a margin, so a drain is never cut " +
    'by SIGKILL.',
  clientHeaderTimeoutS: "nginx's client_header_timeout and the gateway's header_timeout.",
  clientBodyTimeoutS: "nginx's client_body_timeout.",
  clientSendTimeoutS: "nginx's send_timeout.",
  clientKeepAliveTimeoutS: "nginx's keepalive_timeout towards clients.",
} as const;

export type LimitKey = keyof typeof LIMIT_KEYS;

/** config/limits.json, checked: every key, each a positive finite number. */
export type Limits = { readonly [K in LimitKey]: number };

/**
 * Where limits.json lives: beside this package's src/ and dist/, so one relative URL serves
 * the source (tsx) and the build.
 */
export const LIMITS_URL = new URL('../limits.json', import.meta.url);

function isLimitKey(key: string): key is LimitKey {
  return Object.hasOwn(LIMIT_KEYS, key);
}

/**
 * Checks a parsed limits file; `where` names it in the errors.
 *
 * @example
 * parseLimits({ bodyLimitBytes: 1024, ... }, 'test') // every key of LIMIT_KEYS, or a TypeError naming the one at fault
 */
export function parseLimits(raw: unknown, where: string): Limits {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TypeError(`${where}: expected a JSON object`);
  }
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!key.startsWith('$') && !isLimitKey(key)) throw new TypeError(`${where}: unknown key "${key}"`);
  }
  const out: Partial<Record<LimitKey, number>> = {};
  for (const key of Object.keys(LIMIT_KEYS) as LimitKey[]) {
    if (!Object.hasOwn(record, key)) throw new TypeError(`${where}: missing key "${key}"`);
    const value = record[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`${where}: "${key}" must be a positive number, got ${JSON.stringify(value)}`);
    }
    out[key] = value;
  }
  // Every key was set in the loop above, or it threw.
  return Object.freeze(out as Limits);
}

/**
 * Reads and checks config/limits.json (or another file, for tests).
 *
 * @example
 * const { bodyLimitBytes } = loadLimits()
 */
export function loadLimits(url: URL = LIMITS_URL): Limits {
  const path = fileURLToPath(url);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(url, 'utf8'));
  } catch (err) {
    throw new TypeError(`${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseLimits(raw, path);
}

/** config/limits.json, read once when this module is first imported. */
export const limits: Limits = loadLimits();
