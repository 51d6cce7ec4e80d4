// GET|POST /api/items: creation, listing, validation errors, 415, the route's
// own body limit (413), and the bounded store.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { loadLimits } from '@gw/limits';
import { ITEM_BODY_LIMIT_BYTES, ItemStore } from '../src/routes/items.js';
import { assertErrorShape, makeApp } from './helpers.js';

const json = { 'content-type': 'application/json' };

test('POST /api/items creates an item: 201, Location, and the item with its id', async (t) => {
  const app = await makeApp(t);
  const res = await app.inject({
    method: 'POST',
    url: '/api/items',
    payload: { name: 'widget', price: 9.5, tags: ['a', 'b'] },
  });
  assert.equal(res.statusCode, 201);
  const item = res.json();
  assert.equal(item.id, 1);
  assert.equal(item.name, 'widget');
  assert.equal(item.price, 9.5);
  assert.deepEqual(item.tags, ['a', 'b']);
  assert.ok(!Number.isNaN(Date.parse(item.createdAt)));
  assert.equal(res.headers.location, '/api/items/1');

  const second = await app.inject({ method: 'POST', url: '/api/items', payload: { name: 'free', price: 0 } });
  assert.equal(second.statusCode, 201);
  assert.deepEqual(
    { ...(second.json() as object), createdAt: 'x' },
    { id: 2, name: 'free', price: 0, tags: [], createdAt: 'x' },
  );
});

test('GET /api/items lists items in creation order, paged; GET /api/items/:id finds one', async (t) => {
  const app = await makeApp(t);
  const empty = await app.inject({ url: '/api/items' });
  assert.equal(empty.statusCode, 200);
  assert.deepEqual(empty.json(), { items: [], total: 0, pid: process.pid });

  for (const name of ['a', 'b', 'c']) {
    assert.equal(
      (await app.inject({ method: 'POST', url: '/api/items', payload: { name, price: 1 } })).statusCode,
      201,
    );
  }
  const all = (await app.inject({ url: '/api/items' })).json();
  assert.equal(all.total, 3);
  assert.deepEqual(
    all.items.map((item: { name: string }) => item.name),
    ['a', 'b', 'c'],
  );
  const page = (await app.inject({ url: '/api/items?offset=1&limit=1' })).json();
  assert.deepEqual(
    page.items.map((item: { name: string }) => item.name),
    ['b'],
  );
  assert.equal(page.total, 3);

  const one = await app.inject({ url: '/api/items/2' });
  assert.equal(one.statusCode, 200);
  assert.equal(one.json().name, 'b');
  const missing = await app.inject({ url: '/api/items/99' });
  assert.equal(missing.statusCode, 404);
  assert.equal(assertErrorShape(missing.json(), 404).code, 'APP_ERR_ITEM_NOT_FOUND');
  for (const url of [
    '/api/items/abc',
    '/api/items/0',
    '/api/items?limit=0',
    '/api/items?limit=1001',
    '/api/items?offset=-1',
  ]) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 400, url);
    assert.equal(assertErrorShape(res.json(), 400).code, 'FST_ERR_VALIDATION', url);
  }
});

test('POST /api/items with invalid JSON is a JSON 400', async (t) => {
  const app = await makeApp(t);
  for (const payload of ['{"name": "x", ', 'not json', '']) {
    const res = await app.inject({ method: 'POST', url: '/api/items', headers: json, payload });
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    const body = assertErrorShape(res.json(), 400);
    assert.match(body.code ?? '', /^FST_ERR_CTP_(INVALID|EMPTY)_JSON_BODY$/, JSON.stringify(payload));
  }
});

test('POST /api/items that breaks the schema is a JSON 400 naming the problem', async (t) => {
  const app = await makeApp(t);
  const cases: Array<[unknown, RegExp]> = [
    [{ price: 1 }, /must have required property 'name'/],
    [{ name: 'x' }, /must have required property 'price'/],
    [{ name: '', price: 1 }, /body\/name must NOT have fewer than 1 characters/],
    [{ name: 'x'.repeat(101), price: 1 }, /body\/name must NOT have more than 100 characters/],
    [{ name: 'x', price: -0.01 }, /body\/price must be >= 0/],
    [{ name: 'x', price: 'cheap' }, /body\/price must be number/],
    [
      { name: 'x', price: 1, tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      /body\/tags must NOT have more than 10 items/,
    ],
    [{ name: 'x', price: 1, tags: [{}] }, /body\/tags\/0 must be string/],
    [{ name: 'x', price: 1, admin: true }, /body must NOT have additional properties/],
    [[{ name: 'x', price: 1 }], /body must be object/],
    ['a string', /body must be object/],
  ];
  for (const [payload, message] of cases) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/items',
      headers: json,
      payload: JSON.stringify(payload),
    });
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    const body = assertErrorShape(res.json(), 400);
    assert.equal(body.code, 'FST_ERR_VALIDATION');
    assert.match(body.message, message);
  }
  assert.equal((await app.inject({ url: '/api/items' })).json().total, 0);
});

test('POST /api/items with a body that is not JSON is 415', async (t) => {
  const app = await makeApp(t);
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/items',
      headers: { 'content-type': type },
      payload: 'name=x&price=1',
    });
    assert.equal(res.statusCode, 415, type);
    assert.equal(assertErrorShape(res.json(), 415).code, 'FST_ERR_CTP_INVALID_MEDIA_TYPE');
  }
  const untyped = await app.inject({
    method: 'POST',
    url: '/api/items',
    payload: Buffer.from('{"name":"x","price":1}'),
  });
  assert.equal(untyped.statusCode, 415);
});

/** A valid item, padded with JSON whitespace to exactly `bytes` bytes. */
function paddedItem(bytes: number): string {
  const item = JSON.stringify({ name: 'padded', price: 1 });
  return item.slice(0, -1) + ' '.repeat(bytes - item.length) + item.slice(-1);
}

test('POST /api/items reads at most ITEM_BODY_LIMIT_BYTES: one byte more is a JSON 413 naming the limit', async (t) => {
  const app = await makeApp(t);
  const exact = await app.inject({
    method: 'POST',
    url: '/api/items',
    headers: json,
    payload: paddedItem(ITEM_BODY_LIMIT_BYTES),
  });
  assert.equal(exact.statusCode, 201);
  assert.equal(exact.json().name, 'padded');

  const over = await app.inject({
    method: 'POST',
    url: '/api/items',
    headers: json,
    payload: paddedItem(ITEM_BODY_LIMIT_BYTES + 1),
  });
  assert.equal(over.statusCode, 413);
  const body = assertErrorShape(over.json(), 413);
  assert.equal(body.code, 'APP_ERR_BODY_TOO_LARGE');
  assert.equal(body.message, `Request body is larger than ${ITEM_BODY_LIMIT_BYTES} bytes`);

  // Without a Content-Length (chunked) the count of bytes received stops it just the same.
  const chunked = await app.inject({
    method: 'POST',
    url: '/api/items',
    headers: json,
    payload: Readable.from([paddedItem(ITEM_BODY_LIMIT_BYTES + 1)]),
  });
  assert.equal(chunked.statusCode, 413);
  assert.equal(assertErrorShape(chunked.json(), 413).code, 'APP_ERR_BODY_TOO_LARGE');

  // A 5 MiB body is refused for its size, not parsed and then refused by the schema.
  const huge = await app.inject({
    method: 'POST',
    url: '/api/items',
    headers: json,
    payload: JSON.stringify({ name: 'x'.repeat(5 * 1024 * 1024), price: 1 }),
  });
  assert.equal(huge.statusCode, 413);
  assert.equal((await app.inject({ url: '/api/items' })).json().total, 1, 'only the item that fitted was stored');

  const small = await app.inject({ method: 'POST', url: '/api/items', payload: { name: 'widget', price: 2 } });
  assert.equal(small.statusCode, 201);
});

test('the item limit is for the JSON route only: /upload still takes up to bodyLimitBytes', async (t) => {
  const app = await makeApp(t);
  const size = 4 * ITEM_BODY_LIMIT_BYTES;
  assert.ok(size < loadLimits().bodyLimitBytes);
  const res = await app.inject({
    method: 'POST',
    url: '/upload',
    headers: { 'content-type': 'application/octet-stream' },
    payload: Buffer.alloc(size, 7),
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().bytes, size);
});

test('the store is bounded: the oldest items are evicted', async (t) => {
  const app = await makeApp(t, { itemsCapacity: 3 });
  for (let i = 1; i <= 5; i++) {
    assert.equal(
      (await app.inject({ method: 'POST', url: '/api/items', payload: { name: `n${i}`, price: i } })).statusCode,
      201,
    );
  }
  const list = (await app.inject({ url: '/api/items' })).json();
  assert.equal(list.total, 3);
  assert.deepEqual(
    list.items.map((item: { id: number }) => item.id),
    [3, 4, 5],
  );
  assert.equal((await app.inject({ url: '/api/items/1' })).statusCode, 404);
});

test('ItemStore refuses a nonsensical capacity and defaults to 1000', () => {
  assert.throws(() => new ItemStore(0), RangeError);
  assert.throws(() => new ItemStore(1.5), RangeError);
  const store = new ItemStore();
  assert.equal(store.capacity, 1000);
  for (let i = 0; i < 1010; i++) store.add({ name: 'x', price: 0 });
  assert.equal(store.size, 1000);
  assert.equal(store.get(10), undefined);
  assert.equal(store.get(11)?.id, 11);
});
