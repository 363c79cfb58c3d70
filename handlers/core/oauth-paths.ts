/**
 * The OpenID provider's protocol endpoints. They are documented in the spec like every operation,
 * but served outside the JSON contract lane: form-encoded bodies, redirects, HTML pages and OAuth
 * error bodies are what their RFCs require.
 */
const tenantProtocol = /^\/api\/v1\/auth\/tenants\/[^/]+\/(?:oauth\/[a-z_-]+|\.well-known\/(?:openid-configuration|jwks\.json))\/?$/;
const platformProtocol = /^\/api\/v1\/platform\/(?:oauth\/[a-z_-]+|oauth\/\.well-known\/openid-configuration|\.well-known\/jwks\.json)\/?$/;

export function isOAuthProtocolPath(path: string): boolean {
  return tenantProtocol.test(path) || platformProtocol.test(path);
}

/** The issuers' URLs and their endpoints: pure, shared by the provider and the admin console. */
export interface IssuerEndpoints {
  authorization: string;
  token: string;
  userinfo: string;
  revocation: string;
  introspection: string;
  endSession: string;
  jwks: string;
  discovery: string;
}

export const TENANT_PREFIX = '/api/v1/auth/tenants/';
export const PLATFORM_PATH = '/api/v1/platform/oauth';

export function tenantIssuerUrl(base: string, slug: string): string {
  return `${base}${TENANT_PREFIX}${slug}`;
}

export function platformIssuerUrl(base: string): string {
  return `${base}${PLATFORM_PATH}`;
}

/** Only the issuer's kind and URL matter here (an admin console asks before any tenant is chosen). */
export function endpointsOf(issuer: { kind: 'tenant' | 'platform'; url: string }, base: string): IssuerEndpoints {
  const oauth = issuer.kind === 'tenant' ? `${issuer.url}/oauth` : issuer.url;
  return {
    authorization: `${oauth}/authorize`,
    token: `${oauth}/token`,
    userinfo: `${oauth}/userinfo`,
    revocation: `${oauth}/revoke`,
    introspection: `${oauth}/introspect`,
    endSession: `${oauth}/logout`,
    // As documented: the platform's JWKS is not under /oauth/.
    jwks: issuer.kind === 'tenant' ? `${issuer.url}/.well-known/jwks.json` : `${base}/api/v1/platform/.well-known/jwks.json`,
    discovery: `${issuer.url}/.well-known/openid-configuration`,
  };
}
