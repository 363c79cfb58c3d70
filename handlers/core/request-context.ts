import { ApiError } from './errors.ts';
import type { IncomingHttpHeaders } from 'node:http';

/** Where a request came from, for rate limits and the audit log. */
export interface ClientInfo {
  clientIp: string;
  userAgent: string;
}

/** A signed-in user, from an access token of one of their sessions. */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  tenantId: string;
  sessionId: string;
  tokenId: string;
  expiresAt: number;
  token: string;
}

/**
 * An OAuth client acting for itself (a client_credentials token). `platformToken` is true on
 * tokens minted by GLOBAL apps (the admin API's cross-tenant access); `appScope` is the minting
 * app's scope, with its owner in `tenantId`/`partnerId`.
 */
export interface ClientPrincipal {
  kind: 'client';
  clientId: string;
  scopes: string[];
  platformToken: boolean;
  appScope: 'GLOBAL' | 'PARTNER' | 'TENANT';
  tenantId: string | null;
  partnerId: string | null;
  tokenId: string;
  expiresAt: number;
  token: string;
}

/** Identity of the caller once the bearer token has been verified. */
export type Principal = UserPrincipal | ClientPrincipal;

/**
 * The user behind an operation that only a signed-in user can call (profile, account security,
 * logout); a client token there is not a user's token, so it is refused like any invalid one.
 */
export function requireUser(principal: Principal | undefined): UserPrincipal {
  if (principal?.kind !== 'user') throw new ApiError(principal ? 'invalidToken' : 'notAuthenticated', { internal: 'client token on a user operation' });
  return principal;
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
