// The error contract: every error is JSON { statusCode, error, message, code? },
// and production mode hides 5xx details.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppOptions } from '../src/app.js';
import { buildApp } from '../src/app.js';
import { APP_ERRORS, AppError } from '../src/errors.js';

async function appWithFailingRoute(t: { after: (fn: () => Promise<void>) => void }, options: AppOptions) {
  const app = await buildApp(options);
  app.get('/boom', async () => {
    throw new Error('db password is hunter2');
  });
  app.get('/teapot', async () => {
    throw Object.assign(new Error('short and stout'), { statusCode: 418, code: 'TEAPOT' });
  });
  t.after(() => app.close());
  return app;
}

test('a 5xx shows its message in development', async (t) => {
  const app = await appWithFailingRoute(t, { production: false });
  const res = await app.inject({ url: '/boom' });
  assert.equal(res.statusCode, 500);
  assert.match(res.headers['content-type'] as string, /^application\/json/);
  assert.deepEqual(res.json(), { statusCode: 500, error: 'Internal Server Error', message: 'db password is hunter2' });
});

test('a 5xx is generic in production: no message, no code, no stack', async (t) => {
  const app = await appWithFailingRoute(t, { production: true });
  const res = await app.inject({ url: '/boom' });
  assert.equal(res.statusCode, 500);
  assert.deepEqual(res.json(), { statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' });
  assert.doesNotMatch(res.body, /hunter2|at |\.ts/);
});

test('a 4xx keeps its message and code in production', async (t) => {
  const app = await appWithFailingRoute(t, { production: true });
  const res = await app.inject({ url: '/teapot' });
  assert.equal(res.statusCode, 418);
  assert.deepEqual(res.json(), { statusCode: 418, error: "I'm a Teapot", message: 'short and stout', code: 'TEAPOT' });
  const invalid = await app.inject({ url: '/slow?ms=-1' });
  assert.equal(invalid.json().message, 'querystring/ms must be >= 0');
});

test('production defaults to NODE_ENV === "production"', async (t) => {
  const previous = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  t.after(() => {
    if (previous === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = previous;
  });
  const app = await appWithFailingRoute(t, {});
  assert.equal((await app.inject({ url: '/boom' })).json().message, 'Internal Server Error');
});

test('every AppError code has a 4xx/5xx status and a message', () => {
  for (const [code, entry] of Object.entries(APP_ERRORS)) {
    assert.match(code, /^APP_ERR_[A-Z_]+$/);
    assert.ok(entry.statusCode >= 400 && entry.statusCode < 600, code);
    const error = new AppError(code as keyof typeof APP_ERRORS, 7, { cause: 'why' });
    assert.equal(error.code, code);
    assert.equal(error.statusCode, entry.statusCode);
    assert.doesNotMatch(error.message, /%[ds]/);
    assert.equal(error.cause, 'why');
  }
});
