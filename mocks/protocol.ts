/**
 * Mock answers for the OpenID provider's endpoints (x-scaikey-protocol in the spec), shared by the
 * HTTP mock server and the MSW handlers. Pure: a request's method, path and parameters in, a
 * reply out. The authorization endpoint redirects straight back to the `redirect_uri` with an
 * example code and the request's `state` (no sign-in page), so a frontend's whole login round
 * trip works against the mock; the token endpoint answers the spec's example tokens.
 */
import type { MockCatalogue, MockOperation } from './catalogue.ts';

export interface ProtocolRequest {
  method: string;
  path: string;
  /** Query (GET) or form (POST) parameters. */
  params: Record<string, string>;
}

export interface ProtocolReply {
  status: number;
  headers: Record<string, string>;
  /** JSON body, or a string for HTML pages; undefined for none. */
  body?: unknown;
  html?: string;
}

export const MOCK_CODE = 'ac_mock-authorization-code';

const tenantPath = /^\/api\/v1\/auth\/tenants\/([^/]+)(\/.*)$/;
const platformPath = /^\/api\/v1\/platform(\/.*)$/;

/** Which protocol operation a request is, if any. */
function routeOf(method: string, path: string): { prefix: 'tenant' | 'platform'; issuerPath: string; rest: string } | undefined {
  const tenant = tenantPath.exec(path);
  if (tenant) return { prefix: 'tenant', issuerPath: `/api/v1/auth/tenants/${tenant[1]}`, rest: tenant[2]! };
  const platform = platformPath.exec(path);
  // The platform's discovery sits under /oauth/, its JWKS not: both named as the tenant's are.
  if (platform) return { prefix: 'platform', issuerPath: '/api/v1/platform/oauth', rest: platform[1]!.replace(/^\/oauth\/\.well-known\//, '/.well-known/') };
  void method;
  return undefined;
}

function example(operation: MockOperation | undefined, status: number): unknown {
  return operation?.responses.find((r) => r.status === status)?.examples[0]?.value;
}

function page(title: string, text: string): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p></html>`;
}

/** The mock answer, or undefined when the path is not one of the provider's endpoints. */
export function protocolReply(catalogue: Pick<MockCatalogue, 'operations'>, request: ProtocolRequest, origin: string): ProtocolReply | undefined {
  const route = routeOf(request.method, request.path);
  if (!route) return undefined;
  const { prefix } = route;
  const capital = prefix === 'tenant' ? 'Tenant' : 'Platform';
  const op = (suffix: string, getter = false) => catalogue.operations[(getter ? `get${capital}${suffix}` : `${prefix}${suffix}`) as keyof typeof catalogue.operations] as MockOperation | undefined;
  const noStore = { 'Cache-Control': 'no-store' };
  const oauth = prefix === 'tenant' ? `${route.issuerPath}/oauth` : route.issuerPath;
  const { rest } = route;
  const post = request.method === 'POST';
  const issuer = `${origin}${route.issuerPath}`;
  const is = (path: string) => rest === path;

  if (request.method === 'GET' && is('/.well-known/openid-configuration')) {
    const base = example(op('OpenIdConfiguration', true), 200) as Record<string, unknown>;
    return {
      status: 200,
      headers: {},
      body: {
        ...base,
        issuer,
        authorization_endpoint: `${origin}${oauth}/authorize`,
        token_endpoint: `${origin}${oauth}/token`,
        userinfo_endpoint: `${origin}${oauth}/userinfo`,
        revocation_endpoint: `${origin}${oauth}/revoke`,
        introspection_endpoint: `${origin}${oauth}/introspect`,
        end_session_endpoint: `${origin}${oauth}/logout`,
        jwks_uri: prefix === 'tenant' ? `${issuer}/.well-known/jwks.json` : `${origin}/api/v1/platform/.well-known/jwks.json`,
      },
    };
  }
  if (request.method === 'GET' && is('/.well-known/jwks.json')) {
    return { status: 200, headers: { 'Cache-Control': 'public, max-age=300' }, body: example(op('Jwks', true), 200) };
  }
  if (is('/oauth/authorize')) {
    const redirect = request.params['redirect_uri'];
    if (!redirect || !/^https?:\/\//.test(redirect)) {
      return { status: 400, headers: noStore, html: page('This sign-in request cannot be completed', 'redirect_uri is required (the mock accepts any http or https URI).') };
    }
    const url = new URL(redirect);
    url.searchParams.set('code', MOCK_CODE);
    if (request.params['state'] !== undefined) url.searchParams.set('state', request.params['state']);
    url.searchParams.set('iss', issuer);
    return { status: 303, headers: { ...noStore, Location: url.toString() } };
  }
  if (post && is('/oauth/token')) {
    const grant = request.params['grant_type'];
    const examples = op('Token')?.responses.find((r) => r.status === 200)?.examples ?? [];
    const chosen = examples.find((e) => e.name === (grant === 'client_credentials' ? 'clientCredentials' : 'authorizationCode')) ?? examples[0];
    if (!grant) return { status: 400, headers: noStore, body: { error: 'invalid_request', error_description: 'grant_type is required' } };
    return { status: 200, headers: noStore, body: chosen?.value };
  }
  if (is('/oauth/userinfo')) return { status: 200, headers: noStore, body: example(op(post ? 'UserinfoPost' : 'Userinfo'), 200) };
  if (post && is('/oauth/revoke')) return { status: 200, headers: noStore };
  if (post && is('/oauth/introspect')) return { status: 200, headers: noStore, body: example(op('Introspect'), 200) };
  if (is('/oauth/logout')) {
    const target = request.params['post_logout_redirect_uri'];
    if (target && /^https?:\/\//.test(target)) {
      const url = new URL(target);
      if (request.params['state'] !== undefined) url.searchParams.set('state', request.params['state']);
      return { status: 303, headers: { ...noStore, Location: url.toString() } };
    }
    return { status: 200, headers: noStore, html: page('You are signed out', 'You can close this window.') };
  }
  return undefined;
}
