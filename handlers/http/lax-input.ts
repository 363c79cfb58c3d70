import type { OpenAPIBackend, Request as OasRequest } from 'openapi-backend';

/**
 * pydantic v2's lax mode, which FastAPI validates requests in, applied before ajv sees a request:
 *
 * - booleans (body fields, except on operations marked `x-scaikey-strict-input`, and parameters) from "true"/"false", "yes"/"no", "on"/"off", "t"/"f",
 *   "y"/"n" (any case), "1"/"0", and the numbers 1 and 0; anything else stays as sent, so ajv
 *   refuses it and validation-errors.ts names it bool_parsing (strings, integers) or bool_type;
 * - (query parameters: see laxQueryValue, applied by body.ts's declaredQuery before routing);
 * - a body that is a JSON string is never re-parsed: openapi-backend runs JSON.parse over any
 *   string body, so `"{\"email\": …}"` would otherwise validate as an object and skip the
 *   prototype guard of body.ts. Validation sees a stand-in scalar (refused by every object schema
 *   as model_attributes_type, as pydantic refuses the string).
 */

type Schema = Record<string, unknown>;

const falsy = new Set(['0', 'f', 'n', 'no', 'off', 'false']);
const truthy = new Set(['1', 't', 'y', 'on', 'yes', 'true']);

/** pydantic's lax bool, or undefined when pydantic would refuse the value. */
export function laxBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    // pydantic compares ASCII-case-insensitively ("1" and "0" exactly), without trimming.
    const lower = value.replace(/[A-Z]/g, (c) => c.toLowerCase());
    if (falsy.has(lower)) return false;
    if (truthy.has(lower)) return true;
    return undefined;
  }
  if (typeof value === 'number') {
    if (value === 0) return false;
    if (value === 1) return true;
  }
  return undefined;
}

/**
 * A query parameter's value as FastAPI sees it: a repeated parameter that is not a list takes its
 * last value (Starlette); an integer parameter that pydantic parses ("5", " 5 ", "+5", "1_000",
 * "5.0") is written canonically, one it refuses becomes "" so that ajv's looser coercion ("0x10",
 * "1e1") cannot accept it (reported as int_parsing).
 */
export function laxQueryValue(value: string | string[], schema: Schema | undefined): string | string[] {
  if (!schema) return value;
  let out = value;
  if (Array.isArray(out) && !allowsType(schema, 'array')) out = out.at(-1) ?? '';
  if (typeof out === 'string' && allowsType(schema, 'integer') && !allowsType(schema, 'string')) {
    const n = laxInteger(out);
    out = n === undefined ? '' : String(n);
  }
  return out;
}

/** pydantic's lax int from a string, or undefined when pydantic answers int_parsing. */
export function laxInteger(value: string): number | undefined {
  const text = value.trim().replace(/\.0*$/, '');
  if (!/^[+-]?[0-9]+(?:_[0-9]+)*$/.test(text)) return undefined;
  const n = Number(text.replace(/_/g, ''));
  return Number.isSafeInteger(n) ? n : undefined;
}

function branches(schema: Schema): Schema[] {
  const list = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  return Array.isArray(list) ? list : [schema];
}
function allowsType(schema: Schema, type: string): boolean {
  return branches(schema).some((b) => b.type === type || (Array.isArray(b.type) && (b.type as string[]).includes(type)));
}

/** Replaces, in place, the lax booleans of `data` that `schema` declares as booleans. */
export function coerceLaxBooleans(data: unknown, schema: Schema | undefined, depth = 0): void {
  if (!schema || depth > 32 || data === null || typeof data !== 'object') return;
  for (const branch of branches(schema)) {
    if (Array.isArray(data)) {
      const items = branch.items as Schema | undefined;
      if (!items) continue;
      for (let i = 0; i < data.length; i++) {
        const coerced = coerceOne(data[i], items);
        if (coerced !== undefined) data[i] = coerced;
        else coerceLaxBooleans(data[i], items, depth + 1);
      }
    } else {
      const properties = branch.properties as Record<string, Schema> | undefined;
      if (!properties) continue;
      const record = data as Record<string, unknown>;
      for (const name of Object.keys(properties)) {
        if (!Object.prototype.hasOwnProperty.call(record, name)) continue;
        const coerced = coerceOne(record[name], properties[name]!);
        if (coerced !== undefined) record[name] = coerced;
        else coerceLaxBooleans(record[name], properties[name], depth + 1);
      }
    }
  }
}

function coerceOne(value: unknown, schema: Schema): boolean | undefined {
  if (typeof value === 'boolean' || !allowsType(schema, 'boolean')) return undefined;
  // A string the schema also accepts as a string stays a string.
  if (typeof value === 'string' && allowsType(schema, 'string')) return undefined;
  return laxBoolean(value);
}

/** A body value JSON.parse gives back unchanged and every object schema refuses. */
const NOT_AN_OBJECT = 0;

/** Wraps the validator of `api` so requests are validated as pydantic's lax mode would. */
export function installLaxInput(api: OpenAPIBackend): void {
  const validator = api.validator;
  const validateRequest = validator.validateRequest.bind(validator);
  validator.validateRequest = ((req: OasRequest, operationOrId?: Parameters<typeof validateRequest>[1]) => {
    const operation =
      typeof operationOrId === 'string' ? api.router.getOperation(operationOrId) : (operationOrId ?? api.router.matchOperation(req));
    if (!operation) return validateRequest(req, operationOrId);
    const lax: OasRequest = { ...req };
    const bodySchema = (operation.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined)?.content?.['application/json']?.schema;
    if (req.body !== undefined && bodySchema) {
      // body.ts has checked the media type; validate the JSON body whatever +json type it came as.
      lax.headers = { ...req.headers, 'content-type': 'application/json' };
      if (typeof req.body === 'string') lax.body = NOT_AN_OBJECT;
      // Operations marked x-scaikey-strict-input (the administration API, which no FastAPI client
      // depends on) take JSON booleans only: `0` for `skip_consent` is a 422, not a quiet false.
      else if ((operation as { 'x-scaikey-strict-input'?: boolean })['x-scaikey-strict-input'] !== true) coerceLaxBooleans(req.body, bodySchema);
    }
    return validateRequest(lax, operation);
  }) as typeof validator.validateRequest;
}
