import type { TenantDoc } from '../../store/tenants.ts';
import { ApiError } from '../../core/errors.ts';

/** Exact-match redirect URIs only (OAuth 2.1 style): no prefixes, no wildcards. */
export function requireAllowedRedirect(tenant: TenantDoc, redirectUri: string | null | undefined): string | null {
  if (redirectUri === null || redirectUri === undefined || redirectUri === '') return null;
  if (!tenant.settings.allowed_redirect_uris.includes(redirectUri)) throw new ApiError('redirectUriNotAllowed');
  return redirectUri;
}

/** Adds the token as a query parameter to a link target. */
export function linkWithToken(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set('token', token);
  return url.toString();
}
