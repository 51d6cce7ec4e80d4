// GET|POST /api/items: a small JSON API with schema validation, on an
// in-memory store. The store is per process, so under N gateway workers each
// worker sees its own items — the reason real apps keep state in a database.
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import { boundedInteger } from '../schema.js';

export interface Item {
  id: number;
  name: string;
  price: number;
  tags: string[];
  createdAt: string;
}

export type NewItem = Pick<Item, 'name' | 'price'> & { tags?: string[] };

/**
 * The largest body POST /api/items reads. The schema below bounds a valid item: a name of at most
 * 100 characters and at most 10 tags of 50, and JSON may spell a character as an escaped
 * surrogate pair (12 bytes), so the biggest valid body is under 7.5 KiB. 16 KiB leaves room for
 * whitespace and refuses anything larger before it is read and parsed; without it the app-wide
 * limit (config/limits.json bodyLimitBytes, 10 MiB, meant for /upload) let a 5 MiB JSON body be
 * parsed only to fail the schema.
 */
export const ITEM_BODY_LIMIT_BYTES = 16 * 1024;

/** Default store capacity: load tests may POST forever, memory must not follow. */
export const DEFAULT_ITEMS_CAPACITY = 1000;

/** Insertion-ordered store holding at most `capacity` items; the oldest go first. */
export class ItemStore {
  readonly capacity: number;
  private readonly items = new Map<number, Item>();
  private nextId = 1;

  constructor(capacity: number = DEFAULT_ITEMS_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.items.size;
  }

  add(input: NewItem): Item {
    const item: Item = {
      id: this.nextId++,
      name: input.name,
      price: input.price,
      tags: input.tags ?? [],
      createdAt: new Date().toISOString(),
    };
    this.items.set(item.id, item);
    // A Map iterates in insertion order, so its first key is the oldest item.
    while (this.items.size > this.capacity) {
      const oldest = this.items.keys().next().value as number;
      this.items.delete(oldest);
    }
    return item;
  }

  get(id: number): Item | undefined {
    return this.items.get(id);
  }

  list(offset: number, limit: number): Item[] {
    const page: Item[] = [];
    let index = 0;
    for (const item of this.items.values()) {
      if (index++ < offset) continue;
      if (page.length >= limit) break;
      page.push(item);
    }
    return page;
  }
}

const itemSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    price: { type: 'number' },
    tags: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' },
  },
  required: ['id', 'name', 'price', 'tags', 'createdAt'],
} as const;

// Note: Fastify's shared Ajv coerces scalars in every request part ("5" → 5),
// which querystrings need; extra properties are rejected, not stripped
// (removeAdditional is turned off in app.ts).
const newItemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'price'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    price: { type: 'number', minimum: 0 },
    tags: { type: 'array', maxItems: 10, items: { type: 'string', minLength: 1, maxLength: 50 } },
  },
} as const;

export async function itemRoutes(app: FastifyInstance, opts: { capacity?: number }): Promise<void> {
  const store = new ItemStore(opts.capacity);

  // Encapsulated: these routes accept application/json only (Fastify would also
  // parse text/plain); anything else is 415.
  app.removeContentTypeParser('text/plain');

  app.get<{ Querystring: { offset: number; limit: number } }>(
    '/api/items',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            offset: boundedInteger(0, Number.MAX_SAFE_INTEGER, 0),
            limit: boundedInteger(1, DEFAULT_ITEMS_CAPACITY, 100),
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: itemSchema },
              total: { type: 'integer' },
              pid: { type: 'integer' },
            },
            required: ['items', 'total', 'pid'],
          },
        },
      },
    },
    async (request) => {
      const { offset, limit } = request.query;
      return { items: store.list(offset, limit), total: store.size, pid: process.pid };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/items/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: boundedInteger(1, Number.MAX_SAFE_INTEGER) }, required: ['id'] },
        response: { 200: itemSchema },
      },
    },
    async (request) => {
      const item = store.get(request.params.id);
      if (item === undefined) throw new AppError('APP_ERR_ITEM_NOT_FOUND', request.params.id);
      return item;
    },
  );

  app.post<{ Body: NewItem }>(
    '/api/items',
    {
      bodyLimit: ITEM_BODY_LIMIT_BYTES,
      schema: { body: newItemSchema, response: { 201: itemSchema } },
      // Fastify's own 413 says "Request body is too large"; ours names the limit, as /upload's
      // does. Rethrown, every error goes on to the app's handler (one JSON shape for all).
      errorHandler: (error: FastifyError) => {
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
          throw new AppError('APP_ERR_BODY_TOO_LARGE', ITEM_BODY_LIMIT_BYTES, { cause: error });
        throw error;
      },
    },
    async (request, reply) => {
      const item = store.add(request.body);
      return reply.status(201).header('location', `/api/items/${item.id}`).send(item);
    },
  );
}
