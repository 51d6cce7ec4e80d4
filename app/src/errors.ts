// The app's error codes in one table, and the handlers that turn every error
// (ours, Fastify's, a validation failure, a 404) into the same JSON shape:
// { statusCode, error, message, code? }.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Every error the app raises itself, with its HTTP status and message. */
export const APP_ERRORS = {
  APP_ERR_BODY_TOO_LARGE: { statusCode: 413, message: 'Request body is larger than %d bytes' },
  APP_ERR_STREAM_TOO_LONG: { statusCode: 400, message: 'The stream would last longer than %d ms' },
  APP_ERR_ITEM_NOT_FOUND: { statusCode: 404, message: 'Item %s not found' },
  APP_ERR_ROUTE_NOT_FOUND: { statusCode: 404, message: 'Route %s not found' },
} as const;

export type AppErrorCode = keyof typeof APP_ERRORS;

/** An error with a stable `code`; the error handler maps it to its status. */
export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly statusCode: number;

  constructor(code: AppErrorCode, detail: string | number, options?: { cause?: unknown }) {
    const entry = APP_ERRORS[code];
    super(entry.message.replace(/%[ds]/, String(detail)), options);
    this.name = 'AppError';
    this.code = code;
    this.statusCode = entry.statusCode;
  }
}

/** The body of every error response. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
}

export function errorBody(statusCode: number, message: string, code?: string): ErrorBody {
  const body: ErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
  if (code !== undefined) body.code = code;
  return body;
}

/**
 * Installs the JSON error and not-found handlers. In production a 5xx says only
 * "Internal Server Error": its message may carry internals (paths, SQL, peers),
 * and the log already has the full error.
 */
export function installErrorHandlers(app: FastifyInstance, production: boolean): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status =
      typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600
        ? error.statusCode
        : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      // A client's mistake: no stack trace, it would only bury the server's own errors.
      request.log.info({ statusCode: status, code: error.code }, error.message);
    }
    const hide = production && status >= 500;
    const message = hide ? (STATUS_CODES[status] ?? 'Internal Server Error') : error.message;
    const code = hide ? undefined : error.code;
    return reply
      .status(status)
      .type('application/json; charset=utf-8')
      .send(errorBody(status, message, code));
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new AppError('APP_ERR_ROUTE_NOT_FOUND', `${request.method}:${request.url}`);
    return reply.status(404).send(errorBody(404, error.message, error.code));
  });
}
