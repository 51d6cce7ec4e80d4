/**
 * The app contract, this project's WSGI. MODULE[:EXPORT] (default export `default`) may be:
 *   1. a Node request listener `(req, res) => void` (an Express app is one);
 *   2. a fetch handler: an object with `fetch(request, env): Response | Promise<Response>`, where
 *      env is `{ incoming, outgoing }`, the Node request and response (Hono's Node bindings);
 *   3. a Fastify instance, or a Koa app (anything with `callback()` and `use()`: its callback() is
 *      the listener), or a factory (sync or async) returning any of the above.
 * A factory is called once per worker with an {@link AppContext}.
 */

import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { GatewayError } from './errors.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
/** The 2nd argument of a fetch app's `fetch`: the Node request and response, as @hono/node-server passes them. */
export interface NodeBindings {
  incoming: IncomingMessage;
  outgoing: ServerResponse;
}
export interface FetchApp {
  fetch(request: Request, env: NodeBindings): Response | Promise<Response>;
}

/** What a factory receives. */
export interface AppContext {
  /**
   * Always true under the gateway: it sets X-Forwarded-For/Proto/Host on every request to its own
   * verdict (the trusted proxy's client, else the socket's peer), so the app can trust them: pass
   * it on, as `Fastify({ trustProxy: ctx.trustProxy })`.
   */
  trustProxy: true;
  /** 1, 2, 3, … in the order the master forks workers (a replacement gets a new one); 0 under --check-config. */
  workerId: number;
  /** 1 at start, one more on each HUP reload; 0 under --check-config. */
  generation: number;
}

interface FastifyLike {
  ready(): PromiseLike<unknown>;
  routing(req: IncomingMessage, res: ServerResponse): void;
  close(): PromiseLike<unknown>;
  server: {
    emit(event: 'upgrade', req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
    listenerCount(event: string): number;
  };
  websocketServer?: WebSocketServerLike;
}

/** Takes over a connection after an HTTP Upgrade (WebSocket): Node's 'upgrade' event arguments. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What the gateway needs to close WebSockets with 1001 when a worker drains (a `ws` server). */
export interface WebSocketServerLike {
  clients: Set<{ close(code?: number, reason?: string): void }>;
}

/** A Koa app: not itself a listener, but `callback()` returns one. */
interface KoaLike {
  callback(): RequestListener;
  use(...args: unknown[]): unknown;
  proxy?: boolean;
}

interface Extras {
  upgrade?: UpgradeHandler | undefined;
  webSockets?: (() => WebSocketServerLike | undefined) | undefined;
  /** Advice on how the app is set up (a framework that does not believe X-Forwarded-*), for --check-config and the log. */
  notes?: string[] | undefined;
}

export type HostedApp =
  | ({ kind: 'listener' | 'koa'; handle: RequestListener; close?: undefined } & Extras)
  | ({ kind: 'fetch'; handle: FetchApp; close?: undefined } & Extras)
  | ({ kind: 'fastify'; handle: RequestListener; close: () => Promise<void> } & Extras);

const IGNORES_PROXY =
  'reports the socket peer as the client (behind nginx: nginx), although the gateway vets X-Forwarded-*';

/** Fastify keeps its options under a private symbol; without it there is nothing to advise. */
function fastifyTrustsProxy(app: object): boolean {
  const key = Object.getOwnPropertySymbols(app).find((s) => s.description === 'fastify.options');
  const options = key === undefined ? undefined : (app as Record<symbol, { trustProxy?: unknown } | undefined>)[key];
  return options === undefined || Boolean(options.trustProxy);
}

/** An Express app: a listener with Express's settings API. */
function expressTrustsProxy(fn: unknown): boolean {
  const app = fn as { set?: unknown; enabled?: (name: string) => boolean };
  return typeof app.set !== 'function' || typeof app.enabled !== 'function' || app.enabled('trust proxy');
}

export function splitAppSpec(spec: string): { module: string; exportName: string } {
  // A Windows drive letter is not an export separator; only the last colon counts.
  const i = spec.lastIndexOf(':');
  if (i > 1) return { module: spec.slice(0, i), exportName: spec.slice(i + 1) || 'default' };
  return { module: spec, exportName: 'default' };
}

function moduleUrl(mod: string, cwd: string): string {
  const looksLikePath = mod.startsWith('.') || mod.startsWith('/') || isAbsolute(mod) || /\.[cm]?[jt]s$/.test(mod);
  if (looksLikePath) {
    const abs = resolve(cwd, mod);
    if (!existsSync(abs))
      throw new GatewayError('GW_ERR_APP_NOT_FOUND', `cannot find app module ${mod} (looked at ${abs})`);
    return pathToFileURL(abs).href;
  }
  return mod; // a package name, resolved by Node
}

function isFastify(x: unknown): x is FastifyLike {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as FastifyLike).routing === 'function' &&
    typeof (x as FastifyLike).ready === 'function' &&
    typeof (x as FastifyLike).close === 'function'
  );
}

function isKoa(x: unknown): x is KoaLike {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as KoaLike).callback === 'function' &&
    typeof (x as KoaLike).use === 'function'
  );
}

function isFetchApp(x: unknown): x is FetchApp {
  return (
    (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as FetchApp).fetch === 'function'
  );
}

async function classify(value: unknown, ctx: AppContext, depth: number, label: string): Promise<HostedApp> {
  if (isFastify(value)) {
    await value.ready();
    const app = value;
    return {
      kind: 'fastify',
      handle: (req, res) => app.routing(req, res),
      close: async () => {
        await app.close();
      },
      // @fastify/websocket listens for 'upgrade' on the instance's own (never listening) server.
      upgrade:
        app.server.listenerCount('upgrade') > 0
          ? (req, socket, head) => {
              app.server.emit('upgrade', req, socket, head);
            }
          : undefined,
      webSockets: () => app.websocketServer,
      notes: fastifyTrustsProxy(app)
        ? undefined
        : [`this Fastify instance has trustProxy off: request.ip ${IGNORES_PROXY}; pass { trustProxy: true }`],
    };
  }
  // Checked before "function": a Hono app is an object with fetch, and so may a callable be.
  if (isFetchApp(value) && typeof value !== 'function') return { kind: 'fetch', handle: value };
  if (isKoa(value)) {
    // Accepted as it is, the way an Express app is: `export default new Koa()` is the natural export.
    return {
      kind: 'koa',
      handle: value.callback(),
      notes: value.proxy
        ? undefined
        : [`this Koa app has app.proxy off: ctx.ip ${IGNORES_PROXY}; set app.proxy = true`],
    };
  }
  if (typeof value === 'function') {
    // (req, res) or (req, res, next) is a listener (Express apps are too); fewer parameters is a factory.
    if (value.length >= 2) {
      // A listener may carry `upgrade(req, socket, head)` and `websocketServer`, the way a Node
      // server would have an 'upgrade' listener and a ws server beside it.
      const extra = value as unknown as { upgrade?: unknown; websocketServer?: WebSocketServerLike };
      return {
        kind: 'listener',
        handle: value as RequestListener,
        upgrade: typeof extra.upgrade === 'function' ? (extra.upgrade as UpgradeHandler) : undefined,
        webSockets: () => extra.websocketServer,
        notes: expressTrustsProxy(value)
          ? undefined
          : [`this Express app has 'trust proxy' off: req.ip ${IGNORES_PROXY}; app.set('trust proxy', true)`],
      };
    }
    if (depth > 0) throw new GatewayError('GW_ERR_APP_SHAPE', `${label}: the factory returned another factory`);
    const made = await (value as (c: AppContext) => unknown)(ctx);
    return classify(made, ctx, depth + 1, `${label}()`);
  }
  if (isFetchApp(value)) return { kind: 'fetch', handle: value };
  throw new GatewayError(
    'GW_ERR_APP_SHAPE',
    `${label} is ${value === null ? 'null' : typeof value}: expected a request listener (req, res), an object ` +
      'with fetch(request), a Fastify instance, a Koa app, or a factory returning one',
  );
}

export async function loadApp(spec: string, ctx: AppContext, cwd = process.cwd()): Promise<HostedApp> {
  const { module, exportName } = splitAppSpec(spec);
  const url = moduleUrl(module, cwd);
  let ns: Record<string, unknown>;
  try {
    ns = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(module)) {
      throw new GatewayError('GW_ERR_APP_NOT_FOUND', `cannot import ${module}: ${e.message}`, { cause: err });
    }
    throw err; // the app's own error (syntax, a throw at import time): the caller logs its stack
  }
  if (!(exportName in ns)) {
    throw new GatewayError(
      'GW_ERR_APP_EXPORT',
      `${module} has no export "${exportName}" (it has: ${Object.keys(ns).join(', ') || 'none'})`,
    );
  }
  return classify(ns[exportName], ctx, 0, `${module}:${exportName}`);
}
