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
