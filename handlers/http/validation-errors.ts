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
      return { loc: toLoc(error.instancePath), ...known };
    }
    case 'maxLength':
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
      if (params.format === 'email') {
        return {
          loc: toLoc(error.instancePath),
          msg: 'value is not a valid email address: The email address is not valid.',
          type: 'value_error',
        };
      }
      return { loc: toLoc(error.instancePath), msg: `Input should be a valid ${String(params.format)}`, type: 'value_error' };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => `'${String(v)}'`);
      const text = allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}` : (allowed[0] ?? '');
      return { loc: toLoc(error.instancePath), msg: `Input should be ${text}`, type: 'enum', ctx: { expected: text } };
    }
    case 'maxProperties':
      return {
        loc: toLoc(error.instancePath),
        msg: `Dictionary should have at most ${String(params.limit)} items`,
        type: 'too_long',
        ctx: { max_length: params.limit },
      };
    case 'maxItems':
      return { loc: toLoc(error.instancePath), msg: `List should have at most ${String(params.limit)} items`, type: 'too_long' };
    case 'additionalProperties':
      return { loc: toLoc(error.instancePath, String(params.additionalProperty)), msg: 'Extra inputs are not permitted', type: 'extra_forbidden' };
    case 'maximum':
    case 'minimum':
      return { loc: toLoc(error.instancePath), msg: `Input should be ${error.message ?? 'in range'}`, type: error.keyword === 'maximum' ? 'less_than_equal' : 'greater_than_equal' };
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
 * ajv reports every failed branch of `anyOf: [T, null]`; pydantic reports only the failure against
 * T. We drop the "should be null" branch and the summary anyOf error, and de-duplicate.
 */
export function toFastApiIssues(errors: ErrorObject[]): ValidationIssue[] {
  const nullableBranchFailures = new Set(
    errors.filter((e) => e.keyword === 'type' && (e.params as { type?: string }).type === 'null').map((e) => e.instancePath),
  );
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (error.keyword === 'type' && (error.params as { type?: string }).type === 'null') continue;
    if (nullableBranchFailures.has(error.instancePath) && (error.keyword === 'anyOf' || error.keyword === 'oneOf')) continue;
    const issue = issueFor(error);
    if (!issue) continue;
    const key = `${issue.loc.join('\u0000')}|${issue.type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  if (issues.length === 0 && errors.length > 0) {
    issues.push({ loc: toLoc(errors[0]!.instancePath), msg: 'Invalid value', type: 'value_error' });
  }
  return issues;
}
