import type { IncomingHttpHeaders } from 'node:http';

/** Where a request came from, for rate limits and the audit log. */
export interface ClientInfo {
  clientIp: string;
  userAgent: string;
}

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
export interface RequestContext<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> extends ClientInfo {
  operationId: string;
  requestId: string;
  params: P;
  query: Q;
  headers: IncomingHttpHeaders;
  cookies: Record<string, string>;
  /** The client reached us over HTTPS (directly, or through a proxy TRUST_PROXY trusts). */
  secure: boolean;
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
