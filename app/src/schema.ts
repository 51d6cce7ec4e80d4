// JSON-schema pieces shared by the routes, and the one Ajv keyword the app adds.
//
// Why `finite`: Fastify's Ajv coerces querystring strings to numbers, and
// "1e400" becomes Infinity, which Ajv then lets through: its minimum/maximum
// checks are guarded by isFinite(). Unchecked, /cpu?ms=1e400 would spin forever.

interface FiniteError {
  keyword: 'finite';
  message: string;
  params: Record<string, never>;
}
type FiniteValidate = ((schema: boolean, data: unknown) => boolean) & { errors?: FiniteError[] };

// Ajv reads a validate function's errors from its `errors` property.
const validateFinite: FiniteValidate = (schema: boolean, data: unknown): boolean => {
  const ok = !schema || typeof data !== 'number' || Number.isFinite(data);
  if (ok) delete validateFinite.errors;
  else validateFinite.errors = [{ keyword: 'finite', message: 'must be a finite number', params: {} }];
  return ok;
};

/** Ajv keyword `finite: true`: a number must be finite (checked after coercion). */
export const finiteKeyword = {
  keyword: 'finite',
  schemaType: 'boolean',
  errors: true,
  validate: validateFinite,
} as const;

/**
 * An integer querystring parameter in [minimum, maximum].
 *
 * @example
 * querystring: { type: 'object', properties: { ms: boundedInteger(0, 5000) } }
 */
export function boundedInteger(minimum: number, maximum: number, defaultValue?: number) {
  return {
    type: 'integer',
    minimum,
    maximum,
    finite: true,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  } as const;
}
