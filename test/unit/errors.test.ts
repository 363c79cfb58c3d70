// The one mapping from errors to HTTP answers: toErrorResponse (handlers/core/errors.ts) and the
// edge's errorResponse (handlers/http/responses.ts), which adds RFC 6750 bearer challenges.
import { describe, expect, test } from 'vitest';
import { ApiError, InvalidInput, RequestValidationError, errorCatalogue, toErrorResponse, type ErrorId } from '../../handlers/core/errors.ts';
import { errorResponse } from '../../handlers/http/responses.ts';

const ids = Object.keys(errorCatalogue) as ErrorId[];

describe('toErrorResponse: ApiError', () => {
  test.each(ids)('%s answers with its catalogue status and detail', (id) => {
    const response = toErrorResponse(new ApiError(id));
    expect(response.status).toBe(errorCatalogue[id].status);
    expect(response.body).toEqual({ detail: errorCatalogue[id].detail });
    expect(response.headers).toEqual({});
    expect(response.unexpected).toBe(errorCatalogue[id].status >= 500 && id !== 'serviceUnavailable');
  });

  test('the error carries its id, status and detail', () => {
    const error = new ApiError('tenantNotFound', { internal: 'slug acme' });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'ApiError', id: 'tenantNotFound', status: 404, detail: 'Tenant not found', message: 'Tenant not found', internal: 'slug acme' });
  });

  test('the internal explanation and the cause never reach the body', () => {
    const response = toErrorResponse(new ApiError('invalidCredentials', { internal: 'wrong password for ada@example.com', cause: new Error('bcrypt mismatch') }));
    expect(response).toEqual({ status: 401, body: { detail: 'Invalid email or password' }, headers: {}, unexpected: false });
    expect(JSON.stringify(response)).not.toMatch(/ada@example|bcrypt/);
  });

  test.each([
    [30, '30'],
    [0.2, '1'],
    [1.01, '2'],
    [59.999, '60'],
    [1, '1'],
    [0, '1'],
    [-5, '1'],
  ])('Retry-After for %s seconds is %s (whole seconds rounded up, at least 1)', (retryAfter, header) => {
    const response = toErrorResponse(new ApiError('tooManyRequests', { retryAfter }));
    expect(response.status).toBe(429);
    expect(response.headers).toEqual({ 'Retry-After': header });
  });

  test('no Retry-After without retryAfter', () => {
    expect(toErrorResponse(new ApiError('tooManyRequests')).headers).toEqual({});
  });

  test('edge headers are passed on, beside Retry-After, as a copy', () => {
    const error = new ApiError('methodNotAllowed', { headers: { Allow: 'GET, POST' }, retryAfter: 3 });
    const response = toErrorResponse(error);
    expect(response).toMatchObject({ status: 405, headers: { Allow: 'GET, POST', 'Retry-After': '3' } });
    response.headers.Extra = 'x';
    expect(error.headers).toEqual({ Allow: 'GET, POST' });
  });

  test('5xx catalogue errors are unexpected, 4xx are not; a lost database (503) is known, not a fault', () => {
    expect(toErrorResponse(new ApiError('internal')).unexpected).toBe(true);
    expect(toErrorResponse(new ApiError('serviceUnavailable')).unexpected).toBe(false);
    expect(toErrorResponse(new ApiError('serviceUnavailable', { retryAfter: 5 }))).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } });
    expect(toErrorResponse(new ApiError('notFound')).unexpected).toBe(false);
  });
});

describe('toErrorResponse: validation', () => {
  test('RequestValidationError answers 422 with its issues', () => {
    const issues = [
      { loc: ['body', 'email'], msg: 'Field required', type: 'missing' },
      { loc: ['query', 'limit'], msg: 'Input should be a valid integer', type: 'int_type' },
    ];
    const error = new RequestValidationError(issues);
    expect(error.message).toBe('body.email: Field required; query.limit: Input should be a valid integer');
    expect(toErrorResponse(error)).toEqual({ status: 422, body: { detail: issues }, headers: {}, unexpected: false });
  });

  test('InvalidInput answers 422 with loc ["body", field] and a pydantic value error', () => {
    const error = new InvalidInput({ field: 'new_password', reason: 'Password must be at least 15 characters long', ctx: { min_length: 15 } });
    expect(error.message).toBe('new_password: Password must be at least 15 characters long');
    expect(toErrorResponse(error)).toEqual({
      status: 422,
      body: { detail: [{ loc: ['body', 'new_password'], msg: 'Value error, Password must be at least 15 characters long', type: 'value_error', ctx: { min_length: 15 } }] },
      headers: {},
      unexpected: false,
    });
  });

  test('InvalidInput without ctx has no ctx key', () => {
    const response = toErrorResponse(new InvalidInput({ field: 'password', reason: 'This password is too common; choose another' }));
    expect(response.body).toEqual({ detail: [{ loc: ['body', 'password'], msg: 'Value error, This password is too common; choose another', type: 'value_error' }] });
    expect(Object.keys((response.body as { detail: object[] }).detail[0]!)).not.toContain('ctx');
  });

  test('InvalidInput of kind string_type is "Input should be a valid string"', () => {
    const response = toErrorResponse(new InvalidInput({ field: 'first_name', reason: 'not a string', kind: 'string_type', ctx: { ignored: true } }));
    expect(response.body).toEqual({ detail: [{ loc: ['body', 'first_name'], msg: 'Input should be a valid string', type: 'string_type' }] });
  });

  test('several problems become several issues, in order', () => {
    const error = new InvalidInput([
      { field: 'first_name', reason: 'Too long' },
      { field: 'last_name', reason: 'x', kind: 'string_type' },
      { field: 'display_name', reason: 'Not allowed', kind: 'value' },
    ]);
    expect(error.problems).toHaveLength(3);
    expect(error.message).toBe('first_name: Too long; last_name: x; display_name: Not allowed');
    const detail = (toErrorResponse(error).body as { detail: Array<{ loc: unknown[]; type: string }> }).detail;
    expect(detail.map((i) => [i.loc, i.type])).toEqual([
      [['body', 'first_name'], 'value_error'],
      [['body', 'last_name'], 'string_type'],
      [['body', 'display_name'], 'value_error'],
    ]);
  });
});

describe('toErrorResponse: anything else', () => {
  test.each([
    ['an Error', new Error('connection to mongodb://admin:s3cret@db failed')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 's3cret')")],
    ['a string', 's3cret'],
    ['an object', { password: 's3cret', status: 400, detail: 's3cret' }],
    ['undefined', undefined],
    ['null', null],
  ])('%s is a 500 that leaks nothing', (_, error) => {
    const response = toErrorResponse(error);
    expect(response).toEqual({ status: 500, body: { detail: 'Internal Server Error' }, headers: {}, unexpected: true });
    expect(JSON.stringify(response)).not.toContain('s3cret');
  });

  test('an error that merely looks like an ApiError is not trusted', () => {
    const impostor = Object.assign(new Error('x'), { id: 'notFound', status: 404, detail: 'Not Found', headers: { 'Set-Cookie': 'a=b' } });
    expect(toErrorResponse(impostor)).toMatchObject({ status: 500, headers: {}, unexpected: true });
  });
});

describe('errorResponse: bearer challenges', () => {
  test('notAuthenticated carries WWW-Authenticate: Bearer', () => {
    const response = errorResponse(new ApiError('notAuthenticated'));
    expect(response).toEqual({ status: 401, body: { detail: 'Not authenticated' }, headers: { 'WWW-Authenticate': 'Bearer' }, unexpected: false });
  });

  test('invalidToken carries Bearer error="invalid_token"', () => {
    const response = errorResponse(new ApiError('invalidToken', { internal: 'expired' }));
    expect(response).toEqual({ status: 401, body: { detail: 'Invalid or expired token' }, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' }, unexpected: false });
  });

  test('a challenge chosen by the edge is kept', () => {
    const response = errorResponse(new ApiError('invalidToken', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' } }));
    expect(response.headers).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_request"' });
  });

  test.each(ids.filter((id) => id !== 'notAuthenticated' && id !== 'invalidToken'))('%s has no challenge', (id) => {
    expect(errorResponse(new ApiError(id)).headers['WWW-Authenticate']).toBeUndefined();
  });

  test('other 401s (wrong password, bad code) have no challenge: they are not bearer failures', () => {
    expect(errorResponse(new ApiError('invalidCredentials')).headers).toEqual({});
    expect(errorResponse(new ApiError('invalidRefreshToken')).headers).toEqual({});
  });

  test('non-ApiErrors map exactly as toErrorResponse does', () => {
    for (const error of [new RequestValidationError([{ loc: ['body'], msg: 'Field required', type: 'missing' }]), new InvalidInput({ field: 'f', reason: 'r' }), new Error('boom')]) {
      expect(errorResponse(error)).toEqual(toErrorResponse(error));
    }
  });

  test('Retry-After and the challenge coexist', () => {
    expect(errorResponse(new ApiError('notAuthenticated', { retryAfter: 2.5 })).headers).toEqual({ 'Retry-After': '3', 'WWW-Authenticate': 'Bearer' });
  });
});
