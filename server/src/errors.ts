/**
 * Errors with stable codes, one table (Fastify's FST_ERR_* pattern). Every code is documented in
 * docs/errors.md; a test keeps the two in step.
 */

export const ERRORS = {
  GW_ERR_USAGE: 'Invalid command line',
  GW_ERR_CONFIG_INVALID: 'A setting has an invalid value',
  GW_ERR_CONFIG_UNKNOWN: 'Unknown setting',
  GW_ERR_CONFIG_FILE: 'The config file could not be read',
  GW_ERR_BIND: 'A listening address could not be bound',
  GW_ERR_PIDFILE: 'The pid file could not be written',
  GW_ERR_APP_NOT_FOUND: 'The app module could not be imported',
  GW_ERR_APP_EXPORT: 'The app module has no such export',
  GW_ERR_APP_SHAPE: 'The export is not an app the gateway can host',
  GW_ERR_WORKER_BOOT: 'A worker failed to boot',
  GW_ERR_APP_LOAD: 'A worker failed to load the app',
  GW_ERR_TLS: 'The certificate or key cannot be used',
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** Exit codes, with Gunicorn's numbers where Gunicorn has one. */
export const EXIT = {
  OK: 0,
  RUNTIME: 1,
  USAGE: 2,
  WORKER_BOOT_ERROR: 3,
  APP_LOAD_ERROR: 4,
} as const;

export class GatewayError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
  }
}

/** One line for an operator: `gateway: GW_ERR_X: message`. */
export function formatError(err: unknown): string {
  if (err instanceof GatewayError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
