import type { TenantDoc } from '../../store/tenants.ts';

/**
 * The two kinds of OpenID provider ScaiKey is: one per tenant (its TENANT and PARTNER apps, its
 * hosted login page) and the platform's (GLOBAL apps; the user's tenant is found from the email).
 */
export type Issuer =
  | { kind: 'tenant'; url: string; tenant: TenantDoc }
  | { kind: 'platform'; url: string };

export { TENANT_PREFIX, PLATFORM_PATH, tenantIssuerUrl, platformIssuerUrl, endpointsOf, type IssuerEndpoints } from '../../core/oauth-paths.ts';
import { endpointsOf } from '../../core/oauth-paths.ts';

/** Claims released per scope (OpenID Connect Core §5.4). */
export const scopeClaims: Record<string, readonly string[]> = {
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

export const supportedScopes = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'];
export const ACR_PASSWORD = 'urn:scaikey:acr:pwd';
export const ACR_MFA = 'urn:scaikey:acr:mfa';

/** The discovery document (OpenID Connect Discovery 1.0 §3; RFC 8414). */
export function discoveryDocument(issuer: Issuer, base: string): Record<string, unknown> {
  const endpoints = endpointsOf(issuer, base);
  const claims = ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'azp', 'sid', 'tenant_id', ...new Set(Object.values(scopeClaims).flat())];
  return {
    issuer: issuer.url,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    userinfo_endpoint: endpoints.userinfo,
    jwks_uri: endpoints.jwks,
    revocation_endpoint: endpoints.revocation,
    introspection_endpoint: endpoints.introspection,
    end_session_endpoint: endpoints.endSession,
    scopes_supported: supportedScopes,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    userinfo_signing_alg_values_supported: [],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: claims,
    claims_parameter_supported: true,
    request_parameter_supported: true,
    request_object_signing_alg_values_supported: ['none'],
    request_uri_parameter_supported: false,
    acr_values_supported: [ACR_PASSWORD, ACR_MFA],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    display_values_supported: ['page', 'popup', 'touch'],
    ui_locales_supported: ['en', 'de'],
    claim_types_supported: ['normal'],
    authorization_response_iss_parameter_supported: true,
    frontchannel_logout_supported: false,
    backchannel_logout_supported: false,
  };
}
