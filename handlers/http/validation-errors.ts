import type { ErrorObject } from 'ajv';
import type { ValidationIssue } from '../core/errors.ts';

/**
 * Translates ajv errors from openapi-backend into FastAPI/pydantic v2 validation issues, so clients
 * written against the original backend keep working. openapi-backend validates one object
 * `{path, query, header, cookie, requestBody}`; its instance paths therefore start with the
 * parameter location, which maps to FastAPI's first `loc` element.
 */

const locationNames: Record<string, string> = {
  requestBody: 'body',
  path: 'path',
  query: 'query',
  header: 'header',
  cookie: 'cookie',
};

function decodePointer(pointer: string): Array<string | number> {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment));
}

function toLoc(instancePath: string, extra?: string): Array<string | number> {
  const [first, ...rest] = decodePointer(instancePath);
  const head = typeof first === 'string' ? (locationNames[first] ?? first) : 'body';
  const loc = [head, ...rest];
  if (extra !== undefined) loc.push(extra);
  return loc;
}

const typeMessages: Record<string, { type: string; msg: string }> = {
  string: { type: 'string_type', msg: 'Input should be a valid string' },
  integer: { type: 'int_type', msg: 'Input should be a valid integer' },
  number: { type: 'float_type', msg: 'Input should be a valid number' },
  boolean: { type: 'bool_type', msg: 'Input should be a valid boolean' },
  object: { type: 'dict_type', msg: 'Input should be a valid dictionary' },
  array: { type: 'list_type', msg: 'Input should be a valid list' },
  null: { type: 'none_required', msg: 'Input should be None' },
};

const bounds: Record<string, { type: string; words: string; ctx: string }> = {
  '>=': { type: 'greater_than_equal', words: 'greater than or equal to', ctx: 'ge' },
  '>': { type: 'greater_than', words: 'greater than', ctx: 'gt' },
  '<=': { type: 'less_than_equal', words: 'less than or equal to', ctx: 'le' },
  '<': { type: 'less_than', words: 'less than', ctx: 'lt' },
};

const lengthOf = (data: unknown): number | null =>
  Array.isArray(data) ? data.length : data && typeof data === 'object' ? Object.keys(data).length : null;

/**
 * pydantic's lax mode names a wrong value by what it is, when ajv (verbose) tells us the value:
 * a string or integer given for a boolean could not be interpreted (bool_parsing), a string given for
 * a number could not be parsed, a fractional number given for an integer has a fractional part.
 */
function laxTypeIssue(wanted: string, error: ErrorObject): { type: string; msg: string } | undefined {
  const data: unknown = error.data;
  if (wanted === 'boolean') {
    // pydantic: str → bool_parsing; int (an i64) or integral float → bool_parsing; others → bool_type.
    if (typeof data === 'string' || (typeof data === 'number' && Number.isInteger(data) && Math.abs(data) < 2 ** 63)) {
      return { type: 'bool_parsing', msg: 'Input should be a valid boolean, unable to interpret input' };
    }
    return undefined;
  }
  if (wanted === 'integer') {
    if (typeof data === 'string') return { type: 'int_parsing', msg: 'Input should be a valid integer, unable to parse string as an integer' };
    if (typeof data === 'number' && Number.isFinite(data) && !Number.isInteger(data)) {
      return { type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' };
    }
    return undefined;
  }
  if (wanted === 'number' && typeof data === 'string') return { type: 'float_parsing', msg: 'Input should be a valid number, unable to parse string as a number' };
  return undefined;
}

const EMAIL_MAX_LENGTH = 254;
const LOCAL_PART_MAX_LENGTH = 64;
const lengthReason = (length: number, limit: number) => `(${length - limit} character${length - limit > 1 ? 's' : ''} too many)`;

/**
 * The reason email-validator (pydantic's EmailStr) gives for the commonest invalid addresses; other
 * invalid addresses get a generic reason (a full port of email-validator is not attempted).
 */
export function emailReason(value: string | undefined): string {
  const generic = 'The email address is not valid.';
  if (value === undefined) return generic;
  if (value.length > 2048) return 'Length must not exceed 2048 characters'; // pydantic's own limit, first
  const email = value.trim();
  const at = email.lastIndexOf('@');
  if (at < 0) {
    if (email.includes('\uff20')) return 'The email address has the "full-width" at-sign (@) character instead of a regular at-sign.';
    if (email.includes('\ufe6b')) return 'The email address has the "small commercial at" character instead of a regular at-sign.';
    return 'An email address must have an @-sign.';
  }
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const chars = (text: string) => Array.from(text).length;
  if (local.length === 0) return 'There must be something before the @-sign.';
  const atext = /^[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~.]+$/;
  if (!atext.test(local)) return generic;
  if (local.endsWith('.')) return 'An email address cannot have a period immediately before the @-sign.';
  if (local.startsWith('.')) return 'An email address cannot start with a period.';
  if (local.includes('..')) return 'An email address cannot have two periods in a row.';
  if (domain.length === 0) return 'There must be something after the @-sign.';
  if (!/^[a-zA-Z0-9.-]+$/.test(domain)) return generic;
  if (domain.startsWith('.')) return 'An email address cannot have a period immediately after the @-sign.';
  if (domain.endsWith('.')) return 'An email address cannot end with a period.';
  if (domain.includes('..')) return 'An email address cannot have two periods in a row.';
  if (!domain.includes('.')) return 'The part after the @-sign is not valid. It should have a period.';
  const total = chars(local) + 1 + chars(domain);
  if (total > EMAIL_MAX_LENGTH) return `The email address is too long ${lengthReason(total, EMAIL_MAX_LENGTH)}.`;
  if (chars(local) > LOCAL_PART_MAX_LENGTH) return generic;
  return generic;
}

function emailIssue(error: ErrorObject): ValidationIssue {
  const reason = emailReason(typeof error.data === 'string' ? error.data : undefined);
  return { loc: toLoc(error.instancePath), msg: `value is not a valid email address: ${reason}`, type: 'value_error', ctx: { reason } };
}

/** pydantic's too_long / too_short for a list or dict with `actual` items (null: it stopped counting). */
function lengthIssue(error: ErrorObject, fieldType: 'List' | 'Dictionary', bound: 'max' | 'min', actual: number | null): ValidationIssue {
  const limit = (error.params as { limit?: unknown }).limit;
  return {
    loc: toLoc(error.instancePath),
    msg: `${fieldType} should have ${bound === 'max' ? 'at most' : 'at least'} ${String(limit)} item${limit === 1 ? '' : 's'} after validation, not ${actual === null ? 'more' : actual}`,
    type: bound === 'max' ? 'too_long' : 'too_short',
    ctx: { field_type: fieldType, [bound === 'max' ? 'max_length' : 'min_length']: limit, actual_length: actual },
  };
}

function issueFor(error: ErrorObject): ValidationIssue | undefined {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      // A missing JSON body is reported by FastAPI as loc ["body"].
      if (error.instancePath === '' && missing === 'requestBody') return { loc: ['body'], msg: 'Field required', type: 'missing' };
      return { loc: toLoc(error.instancePath, missing), msg: 'Field required', type: 'missing' };
    }
    case 'type': {
      const wanted = String(params.type).split(',')[0] ?? 'string';
      const known = typeMessages[wanted] ?? { type: `${wanted}_type`, msg: `Input should be a valid ${wanted}` };
      // The whole body being the wrong JSON type is what pydantic calls model_attributes_type.
      if (error.instancePath === '/requestBody' && wanted === 'object') {
        return { loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', type: 'model_attributes_type' };
      }
      return { loc: toLoc(error.instancePath), ...(laxTypeIssue(wanted, error) ?? known) };
    }
    case 'maxLength':
      // EmailStr: pydantic runs email-validator, which has its own length rules, before any max_length.
      if ((error.parentSchema as { format?: string } | undefined)?.format === 'email') return emailIssue(error);
      return {
        loc: toLoc(error.instancePath),
        msg: `String should have at most ${String(params.limit)} character${params.limit === 1 ? '' : 's'}`,
        type: 'string_too_long',
        ctx: { max_length: params.limit },
      };
    case 'minLength':
      return {
        loc: toLoc(error.instancePath),
        msg: `String should have at least ${String(params.limit)} character${params.limit === 1 ? '' : 's'}`,
        type: 'string_too_short',
        ctx: { min_length: params.limit },
      };
    case 'pattern':
      return {
        loc: toLoc(error.instancePath),
        msg: `String should match pattern '${String(params.pattern)}'`,
        type: 'string_pattern_mismatch',
        ctx: { pattern: params.pattern },
      };
    case 'format':
      if (params.format === 'email') return emailIssue(error);
      return { loc: toLoc(error.instancePath), msg: `Input should be a valid ${String(params.format)}`, type: 'value_error' };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => `'${String(v)}'`);
      const text = allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}` : (allowed[0] ?? '');
      return { loc: toLoc(error.instancePath), msg: `Input should be ${text}`, type: 'enum', ctx: { expected: text } };
    }
    case 'maxProperties':
      // pydantic stops counting a dict at the limit: "not more", actual_length None.
      return lengthIssue(error, 'Dictionary', 'max', null);
    case 'minProperties':
      return lengthIssue(error, 'Dictionary', 'min', lengthOf(error.data));
    case 'maxItems':
      return lengthIssue(error, 'List', 'max', lengthOf(error.data));
    case 'minItems':
      return lengthIssue(error, 'List', 'min', lengthOf(error.data));
    case 'additionalProperties':
      return { loc: toLoc(error.instancePath, String(params.additionalProperty)), msg: 'Extra inputs are not permitted', type: 'extra_forbidden' };
    case 'maximum':
    case 'minimum':
    case 'exclusiveMaximum':
    case 'exclusiveMinimum': {
      const bound = bounds[String(params.comparison)] ?? bounds[error.keyword === 'maximum' ? '<=' : error.keyword === 'minimum' ? '>=' : error.keyword === 'exclusiveMaximum' ? '<' : '>']!;
      return { loc: toLoc(error.instancePath), msg: `Input should be ${bound.words} ${String(params.limit)}`, type: bound.type, ctx: { [bound.ctx]: params.limit } };
    }
    case 'parse':
      return { loc: ['body', 0], msg: 'JSON decode error', type: 'json_invalid', ctx: { error: error.message ?? 'Invalid JSON' } };
    case 'anyOf':
    case 'oneOf':
      // Reported through the errors of the non-null branch (see below).
      return undefined;
    default:
      return { loc: toLoc(error.instancePath), msg: error.message ?? 'Invalid value', type: 'value_error' };
  }
}

/**
 * pydantic reports one error per field: the type first (for an enum field, the enum error, which
 * pydantic gives for a wrong type too), else the first failed constraint in the order
 * pydantic-core checks them.
 */
const precedence = [
  'enum', 'literal_error', 'dict_type', 'list_type', 'string_type', 'int_type', 'int_parsing', 'int_from_float', 'float_type', 'float_parsing',
  'bool_type', 'bool_parsing', 'model_attributes_type', 'none_required',
  'string_too_short', 'string_too_long', 'string_pattern_mismatch', 'too_short', 'too_long',
  'greater_than', 'greater_than_equal', 'less_than', 'less_than_equal', 'value_error',
];
const rank = (type: string) => {
  const i = precedence.indexOf(type);
  return i < 0 ? precedence.length : i;
};

/** FastAPI validates path, query, header and cookie parameters, then the body. */
const locationOrder = ['path', 'query', 'header', 'cookie', 'body'];

/**
 * ajv reports every failed branch of `anyOf: [T, null]`; pydantic reports only the failure against
 * T. We drop the "should be null" branch and the summary anyOf error, keep one issue per location
 * (as pydantic does), and order them as FastAPI does: by location, then by declared field order
 * (ajv reports missing and extra properties before the others), extra fields last.
 */
export function toFastApiIssues(errors: ErrorObject[]): ValidationIssue[] {
  const nullableBranchFailures = new Set(
    errors.filter((e) => e.keyword === 'type' && (e.params as { type?: string }).type === 'null').map((e) => e.instancePath),
  );
  // Declared property order of each object (ajv verbose: parentSchema of required/additionalProperties).
  const fieldOrder = new Map<string, string[]>();
  for (const error of errors) {
    if (error.keyword !== 'required' && error.keyword !== 'additionalProperties') continue;
    const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
    if (properties && !fieldOrder.has(error.instancePath)) fieldOrder.set(error.instancePath, Object.keys(properties));
  }
  const byLoc = new Map<string, { issue: ValidationIssue; index: number; parent: string; field: string | number | undefined; extra: boolean }>();
  let index = 0;
  for (const error of errors) {
    if (error.keyword === 'type' && (error.params as { type?: string }).type === 'null') continue;
    if (nullableBranchFailures.has(error.instancePath) && (error.keyword === 'anyOf' || error.keyword === 'oneOf')) continue;
    const issue = issueFor(error);
    if (!issue) continue;
    const key = issue.loc.join('\u0000');
    const current = byLoc.get(key);
    if (current) {
      // Branches of an anyOf without a null branch are all reported (pydantic reports each union member).
      const union = isUnionBranch(error) && !nullableBranchFailures.has(error.instancePath);
      if (current.issue.type !== issue.type && rank(issue.type) < rank(current.issue.type) && !union) current.issue = issue;
      else if (current.issue.type !== issue.type && union && !byLoc.has(`${key}|${issue.type}`)) {
        byLoc.set(`${key}|${issue.type}`, { issue, index: index++, parent: current.parent, field: current.field, extra: false });
      }
      continue;
    }
    const named = error.keyword === 'required' || error.keyword === 'additionalProperties';
    const parent = named ? error.instancePath : error.instancePath.slice(0, Math.max(0, error.instancePath.lastIndexOf('/')));
    byLoc.set(key, { issue, index: index++, parent, field: issue.loc.at(-1), extra: error.keyword === 'additionalProperties' });
  }
  const entries = [...byLoc.values()];
  const place = (e: (typeof entries)[number]) => {
    const order = fieldOrder.get(e.parent);
    if (!order || e.extra) return Number.MAX_SAFE_INTEGER;
    const i = order.indexOf(String(e.field));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  entries.sort((a, b) => {
    const la = locationOrder.indexOf(String(a.issue.loc[0]));
    const lb = locationOrder.indexOf(String(b.issue.loc[0]));
    if (la !== lb) return la - lb;
    if (a.parent === b.parent) {
      const pa = place(a);
      const pb = place(b);
      if (pa !== pb) return pa - pb;
    }
    return a.index - b.index;
  });
  const issues = entries.map((e) => e.issue);
  if (issues.length === 0 && errors.length > 0) {
    issues.push({ loc: toLoc(errors[0]!.instancePath), msg: 'Invalid value', type: 'value_error' });
  }
  return issues;
}

/** An error inside a branch of an anyOf/oneOf (schemaPath …/anyOf/<n>/…). */
function isUnionBranch(error: ErrorObject): boolean {
  return /\/(?:anyOf|oneOf)\/\d+\//.test(error.schemaPath);
}
