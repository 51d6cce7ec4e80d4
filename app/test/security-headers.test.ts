// The app's own security headers (nginx's set, for the topology without nginx): on a page, an error
// and a 404; HSTS only when the request came over https (as the host vetted its scheme).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../src/app.js';
import { HSTS, SECURITY_HEADERS } from '../src/security-headers.js';

test('every response carries the set; HSTS only on https', async () => {
  const app = await buildApp({ trustProxy: true });
  try {
    for (const url of ['/', '/no-such-page', '/slow?ms=-1']) {
      const plain = await app.inject({ url });
      for (const [name, value] of Object.entries(SECURITY_HEADERS))
        assert.equal(plain.headers[name], value, `${url} ${name}`);
      assert.equal(plain.headers['strict-transport-security'], undefined, `${url}: no HSTS over http`);
      const secure = await app.inject({ url, headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(secure.headers['strict-transport-security'], HSTS, `${url}: HSTS over https`);
    }
  } finally {
    await app.close();
  }
});
