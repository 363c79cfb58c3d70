import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Identity of the caller once the bearer token has been verified. */
export interface Principal {
  userId: string;
  tenantId: string;
  sessionId: string;
  tokenId: string;
  expiresAt: number;
  token: string;
}

/** What every operation handler receives: validated input and request facts, nothing framework-specific. */
export interface RequestContext<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> {
  operationId: string;
  requestId: string;
  clientIp: string;
  userAgent: string;
  params: P;
  query: Q;
  headers: IncomingHttpHeaders;
  cookies: Record<string, string>;
  body: B;
  /** Set for operations that declare bearer security. */
  principal: Principal | undefined;
}

export interface CookieSpec {
  name: string;
  value: string;
  maxAgeSeconds: number;
  path?: string;
}

export interface HandlerResult<B = unknown> {
  status: number;
  body: B;
  headers?: Record<string, string>;
  cookies?: CookieSpec[];
}

const requestIdPattern = /^[A-Za-z0-9._:-]{8,128}$/;

/** Honour a caller's X-Request-ID when it is a sane token, so traces join up; otherwise mint one. */
export function resolveRequestId(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return value && requestIdPattern.test(value) ? value : randomUUID();
}

/** `meta` of the ApiResponse_* envelopes. */
export function envelope<T>(data: T, ctx: { requestId: string }, now: Date = new Date()): { data: T; meta: { request_id: string; timestamp: string } } {
  return { data, meta: { request_id: ctx.requestId, timestamp: now.toISOString() } };
}

