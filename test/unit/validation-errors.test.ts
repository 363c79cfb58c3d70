// toFastApiIssues: ajv errors as openapi-backend produces them → FastAPI/pydantic v2 issues.
// The errors are real ajv errors: small schemas compiled the way openapi-backend compiles an
// operation's validators (one object {path, query, header, cookie} for parameters, coerced, and
// one {requestBody} for the body), so instance paths are what the router really reports.
import { describe, expect, test } from 'vitest';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { toFastApiIssues } from '../../handlers/http/validation-errors.ts';

type Schema = Record<string, unknown>;

function newAjv(coerceTypes: boolean): Ajv {
  // verbose, as router.ts configures it: errors carry the value and the schema.
  const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes, verbose: true });
  (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
  return ajv;
}
const bodyAjv = newAjv(false);
const paramsAjv = newAjv(true);

/** The errors of openapi-backend's request-body validator for `body` (undefined: no body sent). */
function bodyErrors(schema: Schema, body: unknown, required = true): ErrorObject[] {
  const validate = bodyAjv.compile({ type: 'object', additionalProperties: true, properties: { requestBody: schema }, required: required ? ['requestBody'] : [] });
  const input: Record<string, unknown> = {};
  if (body !== undefined) input.requestBody = body;
  expect(validate(input)).toBe(false);
  return validate.errors ?? [];
}

interface ParamSchemas {
  path?: { properties: Record<string, Schema>; required?: string[] };
  query?: { properties: Record<string, Schema>; required?: string[] };
  header?: { properties: Record<string, Schema>; required?: string[] };
}

/** The errors of openapi-backend's parameter validator. */
function paramErrors(schemas: ParamSchemas, values: { path?: Record<string, unknown>; query?: Record<string, unknown>; header?: Record<string, unknown> }): ErrorObject[] {
  const validate = paramsAjv.compile({
    type: 'object',
    additionalProperties: true,
    properties: {
      path: { type: 'object', additionalProperties: false, properties: {}, required: [], ...schemas.path },
      query: { type: 'object', additionalProperties: false, properties: {}, required: [], ...schemas.query },
      header: { type: 'object', additionalProperties: true, properties: {}, required: [], ...schemas.header },
      cookie: { type: 'object', additionalProperties: true, properties: {}, required: [] },
    },
    required: [],
  });
  expect(validate({ path: {}, query: {}, header: {}, cookie: {}, ...values })).toBe(false);
  return validate.errors ?? [];
}

const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });

describe('required', () => {
  test('a missing body field', () => {
    const errors = bodyErrors({ type: 'object', properties: { email: { type: 'string' }, password: { type: 'string' } }, required: ['email', 'password'] }, { email: 'a@b.c' });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body', 'password'], msg: 'Field required', type: 'missing' }]);
  });

  test('every missing field is reported, in order', () => {
    const errors = bodyErrors({ type: 'object', properties: { email: { type: 'string' }, password: { type: 'string' } }, required: ['email', 'password'] }, {});
    expect(toFastApiIssues(errors)).toEqual([
      { loc: ['body', 'email'], msg: 'Field required', type: 'missing' },
      { loc: ['body', 'password'], msg: 'Field required', type: 'missing' },
    ]);
  });

  test('a missing whole body is loc ["body"]', () => {
    const errors = bodyErrors({ type: 'object', properties: { email: { type: 'string' } }, required: ['email'] }, undefined);
    expect(errors[0]).toMatchObject({ instancePath: '', keyword: 'required', params: { missingProperty: 'requestBody' } });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body'], msg: 'Field required', type: 'missing' }]);
  });

  test('a missing field of a nested object', () => {
    const errors = bodyErrors({ type: 'object', properties: { profile: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } } }, { profile: {} });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body', 'profile', 'name'], msg: 'Field required', type: 'missing' }]);
  });

  test('a missing required query parameter', () => {
    const errors = paramErrors({ query: { properties: { token: { type: 'string' } }, required: ['token'] } }, { query: {} });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['query', 'token'], msg: 'Field required', type: 'missing' }]);
  });
});

describe('type', () => {
  test.each([
    [{ type: 'string' }, 5, 'string_type', 'Input should be a valid string'],
    [{ type: 'integer' }, true, 'int_type', 'Input should be a valid integer'],
    [{ type: 'integer' }, 'x', 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
    [{ type: 'integer' }, 1.5, 'int_from_float', 'Input should be a valid integer, got a number with a fractional part'],
    [{ type: 'number' }, 'x', 'float_parsing', 'Input should be a valid number, unable to parse string as a number'],
    [{ type: 'number' }, null, 'float_type', 'Input should be a valid number'],
    [{ type: 'boolean' }, 'maybe', 'bool_parsing', 'Input should be a valid boolean, unable to interpret input'],
    [{ type: 'boolean' }, 2, 'bool_parsing', 'Input should be a valid boolean, unable to interpret input'],
    [{ type: 'boolean' }, 1.5, 'bool_type', 'Input should be a valid boolean'],
    [{ type: 'boolean' }, null, 'bool_type', 'Input should be a valid boolean'],
    [{ type: 'boolean' }, [true], 'bool_type', 'Input should be a valid boolean'],
    [{ type: 'object' }, [1], 'dict_type', 'Input should be a valid dictionary'],
    [{ type: 'array' }, 'x', 'list_type', 'Input should be a valid list'],
  ])('a body field of schema %j given %j is %s', (schema, value, type, msg) => {
    const errors = bodyErrors({ type: 'object', properties: { field: schema } }, { field: value });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body', 'field'], msg, type }]);
  });

  test.each([[[1, 2]], ['a string'], [42], [true]])('a body that is not an object (%j) is model_attributes_type at loc ["body"]', (body) => {
    const errors = bodyErrors({ type: 'object', properties: { email: { type: 'string' } }, required: ['email'] }, body);
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', type: 'model_attributes_type' }]);
  });

  test('a JSON null body for a non-nullable object', () => {
    const errors = bodyErrors({ type: 'object', properties: {} }, null);
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', type: 'model_attributes_type' }]);
  });

  test('a query parameter that cannot be coerced to an integer', () => {
    const errors = paramErrors({ query: { properties: { limit: { type: 'integer', minimum: 1 } } } }, { query: { limit: 'abc' } });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['query', 'limit'], msg: 'Input should be a valid integer, unable to parse string as an integer', type: 'int_parsing' }]);
  });

  test('a coercible query parameter is not an error', () => {
    const validate = paramsAjv.compile({ type: 'object', properties: { query: { type: 'object', properties: { limit: { type: 'integer' } } } } });
    expect(validate({ query: { limit: '5' } })).toBe(true);
  });

  test('array indexes become numbers, escaped pointer segments are decoded', () => {
    const errors = bodyErrors({ type: 'object', properties: { items: { type: 'array', items: { type: 'string' } }, 'a/b~c': { type: 'string' } } }, { items: ['ok', 7], 'a/b~c': 1 });
    expect(toFastApiIssues(errors)).toEqual([
      { loc: ['body', 'items', 1], msg: 'Input should be a valid string', type: 'string_type' },
      { loc: ['body', 'a/b~c'], msg: 'Input should be a valid string', type: 'string_type' },
    ]);
  });

  test('a type list reports its first type', () => {
    const errors = bodyErrors({ type: 'object', properties: { field: { type: ['integer', 'string'] } } }, { field: true });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body', 'field'], msg: 'Input should be a valid integer', type: 'int_type' }]);
  });
});

describe('nullable (anyOf [T, null])', () => {
  test('only the non-null branch failure is reported', () => {
    const errors = bodyErrors({ type: 'object', properties: { first_name: nullable({ type: 'string', maxLength: 3 }) } }, { first_name: 'abcd' });
    expect(errors.map((e) => e.keyword).sort()).toEqual(['anyOf', 'maxLength', 'type']);
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body', 'first_name'], msg: 'String should have at most 3 characters', type: 'string_too_long', ctx: { max_length: 3 } }]);
  });

  test('a wrong type against a nullable string', () => {
    const errors = bodyErrors({ type: 'object', properties: { first_name: nullable({ type: 'string' }) } }, { first_name: 12 });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body', 'first_name'], msg: 'Input should be a valid string', type: 'string_type' }]);
  });

  test('the nullable authorization header, too long', () => {
    const errors = paramErrors({ header: { properties: { authorization: nullable({ type: 'string', maxLength: 10 }) } } }, { header: { authorization: 'Bearer 0123456789' } });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['header', 'authorization'], msg: 'String should have at most 10 characters', type: 'string_too_long', ctx: { max_length: 10 } }]);
  });

  test('oneOf [T, null] is treated the same', () => {
    const errors = bodyErrors({ type: 'object', properties: { n: { oneOf: [{ type: 'integer' }, { type: 'null' }] } } }, { n: true });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body', 'n'], msg: 'Input should be a valid integer', type: 'int_type' }]);
  });

  test('null is accepted where the schema allows it', () => {
    const validate = bodyAjv.compile({ type: 'object', properties: { requestBody: { type: 'object', properties: { n: nullable({ type: 'string' }) } } } });
    expect(validate({ requestBody: { n: null } })).toBe(true);
  });

  test('an anyOf without a null branch reports each branch failure', () => {
    const errors = bodyErrors({ type: 'object', properties: { v: { anyOf: [{ type: 'string' }, { type: 'integer' }] } } }, { v: true });
    expect(toFastApiIssues(errors)).toEqual([
      { loc: ['body', 'v'], msg: 'Input should be a valid string', type: 'string_type' },
      { loc: ['body', 'v'], msg: 'Input should be a valid integer', type: 'int_type' },
    ]);
  });
});

describe('string constraints', () => {
  const one = (schema: Schema, value: unknown) => toFastApiIssues(bodyErrors({ type: 'object', properties: { field: schema } }, { field: value }));

  test('maxLength, plural and singular', () => {
    expect(one({ type: 'string', maxLength: 5 }, 'abcdef')).toEqual([{ loc: ['body', 'field'], msg: 'String should have at most 5 characters', type: 'string_too_long', ctx: { max_length: 5 } }]);
    expect(one({ type: 'string', maxLength: 1 }, 'ab')).toEqual([{ loc: ['body', 'field'], msg: 'String should have at most 1 character', type: 'string_too_long', ctx: { max_length: 1 } }]);
  });

  test('minLength, plural and singular', () => {
    expect(one({ type: 'string', minLength: 8 }, 'abc')).toEqual([{ loc: ['body', 'field'], msg: 'String should have at least 8 characters', type: 'string_too_short', ctx: { min_length: 8 } }]);
    expect(one({ type: 'string', minLength: 1 }, '')).toEqual([{ loc: ['body', 'field'], msg: 'String should have at least 1 character', type: 'string_too_short', ctx: { min_length: 1 } }]);
  });

  test('pattern', () => {
    const issues = toFastApiIssues(paramErrors({ query: { properties: { before: { type: 'string', pattern: '^[0-9a-f]{24}$' } } } }, { query: { before: 'xyz' } }));
    expect(issues).toEqual([{ loc: ['query', 'before'], msg: "String should match pattern '^[0-9a-f]{24}$'", type: 'string_pattern_mismatch', ctx: { pattern: '^[0-9a-f]{24}$' } }]);
  });

  test('format email', () => {
    expect(one({ type: 'string', format: 'email' }, 'not-an-email')).toEqual([
      { loc: ['body', 'field'], msg: 'value is not a valid email address: An email address must have an @-sign.', type: 'value_error', ctx: { reason: 'An email address must have an @-sign.' } },
    ]);
    expect(one({ type: 'string', format: 'email' }, 'ada@localhost')[0]!.msg).toBe('value is not a valid email address: The part after the @-sign is not valid. It should have a period.');
    expect(one({ type: 'string', format: 'email' }, '@example.com')[0]!.msg).toBe('value is not a valid email address: There must be something before the @-sign.');
    expect(one({ type: 'string', format: 'email' }, 'a..b@example.com')[0]!.msg).toBe('value is not a valid email address: An email address cannot have two periods in a row.');
  });

  test('an over-long email is email-validator’s length error, not string_too_long', () => {
    const issues = one({ type: 'string', format: 'email', maxLength: 254 }, `${'a'.repeat(250)}@example.com`);
    expect(issues).toEqual([expect.objectContaining({ type: 'value_error', msg: 'value is not a valid email address: The email address is too long (8 characters too many).' })]);
    expect(one({ type: 'string', format: 'email', maxLength: 254 }, 'a'.repeat(3000))[0]!.msg).toBe('value is not a valid email address: Length must not exceed 2048 characters');
  });

  test('other formats', () => {
    expect(one({ type: 'string', format: 'uri' }, 'not a uri')).toEqual([{ loc: ['body', 'field'], msg: 'Input should be a valid uri', type: 'value_error' }]);
    expect(one({ type: 'string', format: 'date-time' }, 'yesterday')).toEqual([{ loc: ['body', 'field'], msg: 'Input should be a valid date-time', type: 'value_error' }]);
  });

  test('several failed constraints on one string: only the first pydantic checks (min, max, pattern)', () => {
    // Changed: pydantic reports one error per field; this used to list both.
    const issues = one({ type: 'string', maxLength: 3, pattern: '^[a-z]+$' }, 'ABCD');
    expect(issues.map((i) => i.type)).toEqual(['string_too_long']);
  });

  test('a wrong type reports only the type, not the constraints of the expected type', () => {
    expect(one({ type: 'string', maxLength: 3, pattern: '^[a-z]+$', enum: ['a'] }, 5).map((i) => i.type)).toEqual(['enum']);
    expect(one({ type: 'integer', minimum: 1, enum: [1, 2] }, 'x').map((i) => i.type)).toEqual(['enum']);
    expect(one({ type: 'string', maxLength: 3, const: 'abc' }, 12345).map((i) => i.type)).toEqual(['string_type']);
  });
});

describe('enum', () => {
  const issuesFor = (values: unknown[], value: unknown) => toFastApiIssues(bodyErrors({ type: 'object', properties: { method: { type: 'string', enum: values } } }, { method: value }));

  test('several allowed values: "a, b or c"', () => {
    expect(issuesFor(['totp', 'email', 'webauthn'], 'sms')).toEqual([
      { loc: ['body', 'method'], msg: "Input should be 'totp', 'email' or 'webauthn'", type: 'enum', ctx: { expected: "'totp', 'email' or 'webauthn'" } },
    ]);
  });

  test('two allowed values', () => {
    expect(issuesFor(['a', 'b'], 'c')).toEqual([{ loc: ['body', 'method'], msg: "Input should be 'a' or 'b'", type: 'enum', ctx: { expected: "'a' or 'b'" } }]);
  });

  test('one allowed value', () => {
    expect(issuesFor(['only'], 'other')).toEqual([{ loc: ['body', 'method'], msg: "Input should be 'only'", type: 'enum', ctx: { expected: "'only'" } }]);
  });
});

describe('objects and arrays', () => {
  test('maxProperties', () => {
    const errors = bodyErrors({ type: 'object', properties: { custom_data: { type: 'object', maxProperties: 2 } } }, { custom_data: { a: 1, b: 2, c: 3 } });
    expect(toFastApiIssues(errors)).toEqual([
      { loc: ['body', 'custom_data'], msg: 'Dictionary should have at most 2 items after validation, not more', type: 'too_long', ctx: { field_type: 'Dictionary', max_length: 2, actual_length: null } },
    ]);
  });

  test('maxItems', () => {
    const errors = bodyErrors({ type: 'object', properties: { codes: { type: 'array', maxItems: 2 } } }, { codes: [1, 2, 3] });
    expect(toFastApiIssues(errors)).toEqual([
      { loc: ['body', 'codes'], msg: 'List should have at most 2 items after validation, not 3', type: 'too_long', ctx: { field_type: 'List', max_length: 2, actual_length: 3 } },
    ]);
  });

  test('minItems, and the singular', () => {
    const errors = bodyErrors({ type: 'object', properties: { codes: { type: 'array', minItems: 1 } } }, { codes: [] });
    expect(toFastApiIssues(errors)).toEqual([
      { loc: ['body', 'codes'], msg: 'List should have at least 1 item after validation, not 0', type: 'too_short', ctx: { field_type: 'List', min_length: 1, actual_length: 0 } },
    ]);
  });

  test('additionalProperties in the body', () => {
    const errors = bodyErrors({ type: 'object', properties: { email: { type: 'string' } }, additionalProperties: false }, { email: 'a', admin: true, role: 'x' });
    expect(toFastApiIssues(errors)).toEqual([
      { loc: ['body', 'admin'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' },
      { loc: ['body', 'role'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' },
    ]);
  });

  test('an undeclared query parameter', () => {
    const errors = paramErrors({ query: { properties: { token: { type: 'string' } } } }, { query: { token: 'a', unknown: 'b' } });
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['query', 'unknown'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }]);
  });
});

describe('numbers', () => {
  test('minimum', () => {
    const issues = toFastApiIssues(paramErrors({ query: { properties: { limit: { type: 'integer', minimum: 1, maximum: 100 } } } }, { query: { limit: '0' } }));
    expect(issues).toEqual([{ loc: ['query', 'limit'], msg: 'Input should be greater than or equal to 1', type: 'greater_than_equal', ctx: { ge: 1 } }]);
  });

  test('maximum', () => {
    const issues = toFastApiIssues(paramErrors({ query: { properties: { limit: { type: 'integer', minimum: 1, maximum: 100 } } } }, { query: { limit: '1000' } }));
    expect(issues).toEqual([{ loc: ['query', 'limit'], msg: 'Input should be less than or equal to 100', type: 'less_than_equal', ctx: { le: 100 } }]);
  });

  test('a body number out of range', () => {
    const issues = toFastApiIssues(bodyErrors({ type: 'object', properties: { n: { type: 'number', minimum: 0.5 } } }, { n: 0 }));
    expect(issues).toEqual([{ loc: ['body', 'n'], msg: 'Input should be greater than or equal to 0.5', type: 'greater_than_equal', ctx: { ge: 0.5 } }]);
  });

  test('exclusive bounds', () => {
    const schema = { type: 'object', properties: { n: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 10 } } };
    expect(toFastApiIssues(bodyErrors(schema, { n: 0 }))).toEqual([{ loc: ['body', 'n'], msg: 'Input should be greater than 0', type: 'greater_than', ctx: { gt: 0 } }]);
    expect(toFastApiIssues(bodyErrors(schema, { n: 10 }))).toEqual([{ loc: ['body', 'n'], msg: 'Input should be less than 10', type: 'less_than', ctx: { lt: 10 } }]);
  });
});

describe('parameter locations', () => {
  test('path, query and header errors keep their location names', () => {
    const errors = paramErrors(
      {
        path: { properties: { tenant_slug: { type: 'string', maxLength: 3 } }, required: ['tenant_slug'] },
        query: { properties: { token: { type: 'string', maxLength: 2 } } },
        header: { properties: { authorization: nullable({ type: 'string', maxLength: 4 }) } },
      },
      { path: { tenant_slug: 'toolong' }, query: { token: 'abc' }, header: { authorization: 'Bearer x' } },
    );
    expect(toFastApiIssues(errors).map((i) => i.loc)).toEqual([
      ['path', 'tenant_slug'],
      ['query', 'token'],
      ['header', 'authorization'],
    ]);
  });

  test('a body and parameters at once: parameters first, as FastAPI validates them before the body', () => {
    const errors = [
      ...bodyErrors({ type: 'object', properties: { email: { type: 'string' } }, required: ['email'] }, {}),
      ...paramErrors({ path: { properties: { tenant_slug: { type: 'string', maxLength: 3 } } } }, { path: { tenant_slug: 'abcd' } }),
    ];
    // Changed: body errors used to come first (openapi-backend's order).
    expect(toFastApiIssues(errors).map((i) => [i.loc, i.type])).toEqual([
      [['path', 'tenant_slug'], 'string_too_long'],
      [['body', 'email'], 'missing'],
    ]);
  });

  test('body issues follow the declared field order, extra fields last (ajv reports required first)', () => {
    const schema = { type: 'object', properties: { email: { type: 'string' }, password: { type: 'string' }, flag: { type: 'boolean' } }, required: ['email', 'password'], additionalProperties: false };
    const issues = toFastApiIssues(bodyErrors(schema, { zzz: 1, flag: 'x', email: 5 }));
    expect(issues.map((i) => [i.loc, i.type])).toEqual([
      [['body', 'email'], 'string_type'],
      [['body', 'password'], 'missing'],
      [['body', 'flag'], 'bool_parsing'],
      [['body', 'zzz'], 'extra_forbidden'],
    ]);
  });
});

describe('de-duplication and fallbacks', () => {
  test('the same location and type is reported once', () => {
    const errors = bodyErrors({ type: 'object', properties: { email: { type: 'string' } }, required: ['email'] }, {});
    const issues = toFastApiIssues([...errors, ...errors, ...errors]);
    expect(issues).toEqual([{ loc: ['body', 'email'], msg: 'Field required', type: 'missing' }]);
  });

  test('different failures at one location: one issue, the first pydantic checks', () => {
    // Changed: both used to be kept.
    const errors = bodyErrors({ type: 'object', properties: { s: { type: 'string', minLength: 5, pattern: '^z' } } }, { s: 'abc' });
    expect(toFastApiIssues(errors).map((i) => i.type)).toEqual(['string_too_short']);
  });

  test('the parse error openapi-backend adds for a malformed JSON body', () => {
    const error: ErrorObject = { keyword: 'parse', instancePath: '', schemaPath: '#/requestBody', params: [] as unknown as Record<string, unknown>, message: 'Unexpected token } in JSON at position 9' };
    expect(toFastApiIssues([error])).toEqual([{ loc: ['body', 0], msg: 'JSON decode error', type: 'json_invalid', ctx: { error: 'Unexpected token } in JSON at position 9' } }]);
  });

  test('other keywords fall back to value_error with ajv’s message', () => {
    const issues = toFastApiIssues(bodyErrors({ type: 'object', properties: { kind: { const: 'fixed' } } }, { kind: 'other' }));
    expect(issues).toEqual([{ loc: ['body', 'kind'], msg: 'must be equal to constant', type: 'value_error' }]);
  });

  test('when every error is dropped, one generic issue remains', () => {
    // Only a null branch and the anyOf summary: nothing specific to report.
    const errors = bodyErrors({ type: 'object', properties: { n: { anyOf: [{ type: 'null' }] } } }, { n: 'x' });
    expect(errors.length).toBeGreaterThan(0);
    expect(toFastApiIssues(errors)).toEqual([{ loc: ['body', 'n'], msg: 'Invalid value', type: 'value_error' }]);
  });

  test('no errors, no issues', () => {
    expect(toFastApiIssues([])).toEqual([]);
  });
});
