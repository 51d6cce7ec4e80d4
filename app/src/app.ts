// The sample app. buildApp() assembles a Fastify instance and never listens:
// the gateway (via the default export), the standalone server and the tests
// each decide how requests reach it.

import { type Limits, loadLimits } from '@gw/limits';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import fastify, { LogController } from 'fastify';
import { installDraining } from './draining.js';
import { parseLogLevel } from './env.js';
import { installErrorHandlers } from './errors.js';
import { healthRoutes } from './routes/health.js';
import { infoRoutes } from './routes/info.js';
import { itemRoutes } from './routes/items.js';
import { DEFAULT_STATIC_ROOT, staticRoutes } from './routes/static.js';
import { streamRoutes } from './routes/stream.js';
import { uploadRoutes } from './routes/upload.js';
import { workRoutes } from './routes/work.js';
import { installWebSocket } from './routes/ws.js';
import { finiteKeyword } from './schema.js';
import { installSecurityHeaders } from './security-headers.js';

export type { Limits } from '@gw/limits';

export interface AppOptions {
  /**
   * Fastify's trustProxy: whom to believe about X-Forwarded-For/-Proto/-Host.
   * Default false (the TCP peer is the client).
   */
  trustProxy?: FastifyServerOptions['trustProxy'];
  /** Fastify's logger option. Default false: the host (gateway, standalone) decides. */
  logger?: FastifyServerOptions['logger'];
  /** Log every request at info level. Default false: access logs are nginx's or the gateway's job. */
  requestLogging?: boolean;
  /** Directory served under /static/. Default app/static. */
  staticRoot?: string;
  /** Overrides of config/limits.json values (for tests). */
  limits?: Partial<Limits>;
  /** Capacity of the in-memory /api/items store. Default 1000. */
  itemsCapacity?: number;
  /** Hide 5xx error messages. Default: NODE_ENV === 'production'. */
  production?: boolean;
}

/** What the gateway passes to the default export. */
export interface GatewayContext {
  /** The gateway has already vetted X-Forwarded-* headers, so it passes true. */
  trustProxy?: boolean | string | string[];
}

/**
 * Builds the app without listening.
 *
 * @example
 * const app = await buildApp({ logger: false })
 * const res = await app.inject({ url: '/healthz' })
 */
export async function buildApp(options: AppOptions = {}): Promise<FastifyInstance> {
  const limits: Limits = { ...loadLimits(), ...options.limits };
  const production = options.production ?? process.env.NODE_ENV === 'production';

  const app = fastify({
    trustProxy: options.trustProxy ?? false,
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: !(options.requestLogging ?? false) }),
    bodyLimit: limits.bodyLimitBytes,
    ajv: {
      // Reject properties a schema does not allow (Fastify's default strips them silently).
      customOptions: { removeAdditional: false },
      onCreate: (ajv) => {
        ajv.addKeyword(finiteKeyword);
      },
    },
  });

  // Before any route, so their responses inherit the hooks and handlers.
  installDraining(app);
  installErrorHandlers(app, production);
  installSecurityHeaders(app);

  await app.register(infoRoutes);
  await app.register(healthRoutes);
  await app.register(workRoutes, { limits });
  await app.register(uploadRoutes, { limits });
  await app.register(streamRoutes, { limits });
  await app.register(staticRoutes, { root: options.staticRoot ?? DEFAULT_STATIC_ROOT });
  await installWebSocket(app);
  await app.register(itemRoutes, options.itemsCapacity === undefined ? {} : { capacity: options.itemsCapacity });
  return app;
}

/**
 * The gateway's entry point (`gateway app/dist/app.js`): a factory returning a
 * ready Fastify instance. The gateway strips X-Forwarded-* from untrusted peers
 * and rewrites them to one resolved value from trusted ones, then calls this
 * with `{ trustProxy: true }`. The gateway writes the access log; the app logs
 * only its own errors and rejections, at LOG_LEVEL (default info).
 */
export default async function createApp(ctx: GatewayContext = {}): Promise<FastifyInstance> {
  const app = await buildApp({
    logger: { level: parseLogLevel(process.env.LOG_LEVEL) },
    ...(ctx.trustProxy === undefined ? {} : { trustProxy: ctx.trustProxy }),
  });
  await app.ready();
  return app;
}
