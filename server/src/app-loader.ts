/**
 * The app contract, this project's WSGI. MODULE[:EXPORT] (default export `default`) may be:
 *   1. a Node request listener `(req, res) => void`;
 *   2. a fetch handler: an object with `fetch(request: Request): Response | Promise<Response>`;
 *   3. a Fastify instance, or a factory (sync or async) returning any of the above.
 * A factory is called once per worker with an {@link AppContext}.
 */

import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { GatewayError } from './errors.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
export interface FetchApp {
  fetch(request: Request): Response | Promise<Response>;
}

/** What a factory receives. */
export interface AppContext {
  /**
   * Always true under the gateway: it has already vetted X-Forwarded-For/Proto/Host (dropped from
   * untrusted peers, reduced to one computed value from trusted ones), so the app can trust them.
   */
  trustProxy: true;
  workerId: number;
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

interface Extras {
  upgrade?: UpgradeHandler | undefined;
  webSockets?: (() => WebSocketServerLike | undefined) | undefined;
}

export type HostedApp =
  | ({ kind: 'listener'; handle: RequestListener; close?: undefined } & Extras)
  | ({ kind: 'fetch'; handle: FetchApp; close?: undefined } & Extras)
  | ({ kind: 'fastify'; handle: RequestListener; close: () => Promise<void> } & Extras);

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
    };
  }
  // Checked before "function": a Hono app is an object with fetch, and so may a callable be.
  if (isFetchApp(value) && typeof value !== 'function') return { kind: 'fetch', handle: value };
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
      };
    }
    if (depth > 0) throw new GatewayError('GW_ERR_APP_SHAPE', `${label}: the factory returned another factory`);
    const made = await (value as (c: AppContext) => unknown)(ctx);
    return classify(made, ctx, depth + 1, `${label}()`);
  }
  if (isFetchApp(value)) return { kind: 'fetch', handle: value };
  throw new GatewayError(
    'GW_ERR_APP_SHAPE',
    `${label} is ${value === null ? 'null' : typeof value}: expected a request listener (req, res), an object with fetch(request), a Fastify instance, or a factory returning one`,
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
