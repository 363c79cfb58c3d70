import type { ServerResponse } from 'node:http';
import { stringifySetCookie } from 'cookie';
import { ApiError, toErrorResponse, type ErrorResponse } from '../core/errors.ts';
import type { HandlerResult } from '../core/request-context.ts';

/** RFC 6750 challenges for the catalogue's bearer errors, unless the edge chose a more precise one. */
const bearerChallenges: Partial<Record<string, string>> = {
  notAuthenticated: 'Bearer',
  invalidToken: 'Bearer error="invalid_token"',
};

/** The one mapping from any error to an HTTP answer: the catalogue's, plus the edge's headers. */
export function errorResponse(error: unknown): ErrorResponse {
  const response = toErrorResponse(error);
  if (error instanceof ApiError) {
    const challenge = bearerChallenges[error.id];
    if (challenge && response.headers['WWW-Authenticate'] === undefined) response.headers['WWW-Authenticate'] = challenge;
  }
  return response;
}

export function sendResult(res: ServerResponse, result: HandlerResult, production: boolean): void {
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  for (const cookie of result.cookies ?? []) {
    res.appendHeader(
      'Set-Cookie',
      stringifySetCookie(cookie.name, cookie.value, {
        httpOnly: true,
        secure: production || cookie.name.startsWith('__Host-'),
        sameSite: 'lax',
        path: cookie.path ?? '/',
        maxAge: cookie.maxAgeSeconds,
        expires: new Date(Date.now() + cookie.maxAgeSeconds * 1000),
      }),
    );
  }
  // Responses carry tokens and personal data: never cached unless a handler says otherwise.
  if (!res.hasHeader('Cache-Control')) res.setHeader('Cache-Control', 'no-store');
  sendJson(res, result.status, result.body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  // 204 and 304 have no body (RFC 9110 §15.3.5); their contract body is null.
  if (status === 204 || status === 304) {
    res.statusCode = status;
    res.end();
    return;
  }
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}
