// The numbers the app shares with nginx and the gateway, read at runtime from
// config/limits.json (the project's one source of truth), never copied here.
import { readFileSync } from 'node:fs';

/** The subset of config/limits.json the app uses. */
export interface Limits {
  /** Largest request body accepted (uploads and JSON), in bytes. */
  bodyLimitBytes: number;
  /** Upper bound of `GET /slow?ms=` and of a `/stream` response's total duration. */
  maxWaitMs: number;
  /** Upper bound of `GET /cpu?ms=` (a blocked event loop; the gateway's heartbeat must notice longer). */
  maxCpuMs: number;
  /** Standalone server keep-alive; must outlive nginx's upstream keepalive_timeout. */
  gatewayKeepAliveTimeoutS: number;
  /** How long the standalone server lets in-flight requests finish after SIGTERM. */
  gracefulTimeoutS: number;
}

const KEYS = [
  'bodyLimitBytes',
  'maxWaitMs',
  'maxCpuMs',
  'gatewayKeepAliveTimeoutS',
  'gracefulTimeoutS',
] as const satisfies ReadonlyArray<keyof Limits>;

/**
 * Where limits.json lives. Both app/src/limits.ts (tsx) and app/dist/limits.js
 * sit two levels below the repo root, so one relative URL serves both.
 */
export const LIMITS_URL = new URL('../../config/limits.json', import.meta.url);

/**
 * Reads and checks config/limits.json. Throws on a missing or non-positive
 * number so a broken config fails at boot, not under load.
 *
 * @example
 * const { bodyLimitBytes } = loadLimits()
 */
export function loadLimits(url: URL = LIMITS_URL): Limits {
  const raw: unknown = JSON.parse(readFileSync(url, 'utf8'));
  if (raw === null || typeof raw !== 'object') {
    throw new TypeError(`${url.pathname}: expected a JSON object`);
  }
  const record = raw as Record<string, unknown>;
  const limits = {} as Limits;
  for (const key of KEYS) {
    const value = record[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`${url.pathname}: "${key}" must be a positive number, got ${JSON.stringify(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}
