// pydantic's lax mode (lax-input.ts) and CPython's JSON error positions (python-json.ts).
// The request-level comparison with a real FastAPI is test/contract/fastapi-parity.test.ts.
import { describe, expect, test } from 'vitest';
import { coerceLaxBooleans, laxBoolean, laxInteger, laxQueryValue } from '../../handlers/http/lax-input.ts';
import { pythonJsonError } from '../../handlers/http/python-json.ts';

describe('laxBoolean (pydantic str_as_bool / int_as_bool)', () => {
  test.each([
    ['true', true], ['TRUE', true], ['yes', true], ['On', true], ['t', true], ['Y', true], ['1', true], [1, true],
    ['false', false], ['No', false], ['OFF', false], ['f', false], ['n', false], ['0', false], [0, false],
  ])('%j → %j', (value, expected) => expect(laxBoolean(value)).toBe(expected));
  test.each([[' true'], ['2'], [''], ['truee'], [2], [-1], [1.5], [null], [[]]])('%j is refused', (value) => expect(laxBoolean(value)).toBeUndefined());
});

describe('coerceLaxBooleans', () => {
  test('only fields the schema declares boolean (also nullable), in place', () => {
    const body: Record<string, unknown> = { remember_me: 'yes', trust: 0, name: 'true', nested: { on: 'off' }, bad: 'maybe' };
    coerceLaxBooleans(body, {
      type: 'object',
      properties: {
        remember_me: { type: 'boolean' },
        trust: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
        name: { type: 'string' },
        nested: { type: 'object', properties: { on: { type: 'boolean' } } },
        bad: { type: 'boolean' },
      },
    });
    expect(body).toEqual({ remember_me: true, trust: false, name: 'true', nested: { on: false }, bad: 'maybe' });
  });
});

describe('query values', () => {
  test('integers as pydantic parses them', () => {
    expect([' 5 ', '+5', '1_000', '5.0', '007'].map(laxInteger)).toEqual([5, 5, 1000, 5, 7]);
    expect(['0x10', '1e1', '', '1.5', '1__0', '５'].map(laxInteger)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });
  test('the last of a repeated parameter; unparsable integers cannot be coerced by ajv', () => {
    expect(laxQueryValue(['a', 'b'], { type: 'string' })).toBe('b');
    expect(laxQueryValue(['a', 'b'], { type: 'array', items: { type: 'string' } })).toEqual(['a', 'b']);
    expect(laxQueryValue('0x10', { type: 'integer' })).toBe('');
    expect(laxQueryValue(' 5', { type: 'integer' })).toBe('5');
  });
});

describe('pythonJsonError (json.JSONDecodeError msg and pos)', () => {
  test.each([
    ['{', 'Expecting property name enclosed in double quotes', 1],
    ['{"a": ', 'Expecting value', 6],
    ['{"a": 1', "Expecting ',' delimiter", 7],
    ['{"a": 1,}', 'Expecting property name enclosed in double quotes', 8],
    ['{"a": 1}}', 'Extra data', 8],
    ['{"a" 1}', "Expecting ':' delimiter", 5],
    ['{"a": "abc', 'Unterminated string starting at', 6],
    ['{"a": "\\q"}', 'Invalid \\escape', 7],
    ['{"a": "\\u12"}', 'Invalid \\uXXXX escape', 8],
    ['{"a": "\t"}', 'Invalid control character at', 7],
    ['[1,]', 'Expecting value', 3],
    ['01', 'Extra data', 1],
    ['NaN', 'Expecting value', 0],
    ['   ', 'Expecting value', 3],
    // Positions count code points, as Python's str does (😀 is two UTF-16 units).
    ['{"😀": x}', 'Expecting value', 6],
  ])('%j → %s at %i', (text, msg, pos) => {
    expect(pythonJsonError(text)).toEqual({ msg, pos });
  });
  test('valid JSON has no error', () => expect(pythonJsonError('{"a": [1, 2.5e3, "x", null, true]}')).toBeUndefined());
});

describe('parseBody: malformed JSON as FastAPI reports it', () => {
  const issuesOf = async (text: string) => {
    const { parseBody } = await import('../../handlers/http/body.ts');
    try {
      parseBody({ headers: { 'content-type': 'application/json' } } as never, Buffer.from(text), true);
    } catch (error) {
      return (error as { issues?: unknown }).issues;
    }
    return undefined;
  };
  test('loc ["body", pos] and ctx.error from Python, not V8', async () => {
    expect(await issuesOf('{"email": }')).toEqual([{ loc: ['body', 10], msg: 'JSON decode error', type: 'json_invalid', ctx: { error: 'Expecting value' } }]);
  });
  test('a malformed body that merely mentions "prototype" is json_invalid, not the prototype guard', async () => {
    expect(await issuesOf('{"prototype": x}')).toEqual([{ loc: ['body', 14], msg: 'JSON decode error', type: 'json_invalid', ctx: { error: 'Expecting value' } }]);
  });
  test('a real __proto__ key is still refused by the guard', async () => {
    expect(await issuesOf('{"__proto__": {"a": 1}}')).toEqual([expect.objectContaining({ loc: ['body'], type: 'value_error' })]);
  });
});
