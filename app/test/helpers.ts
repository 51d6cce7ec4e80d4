// Shared test helpers: build an app that closes itself after the test.
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { AppOptions } from '../src/app.js';
import { buildApp } from '../src/app.js';

/** buildApp(options), closed when the test ends. */
export async function makeApp(t: TestContext, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = await buildApp(options);
  t.after(() => app.close());
  return app;
}

/** The JSON body of an error response, with its shape checked. */
export function assertErrorShape(
  body: unknown,
  statusCode: number,
): { statusCode: number; error: string; message: string; code?: string } {
  const error = body as { statusCode: number; error: string; message: string; code?: string };
  if (typeof error !== 'object' || error === null) throw new Error(`not an object: ${JSON.stringify(body)}`);
  if (error.statusCode !== statusCode)
    throw new Error(`statusCode ${error.statusCode} !== ${statusCode} in ${JSON.stringify(body)}`);
  if (typeof error.error !== 'string' || typeof error.message !== 'string')
    throw new Error(`bad error shape: ${JSON.stringify(body)}`);
  return error;
}
