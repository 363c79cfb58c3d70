import { LRUCache } from 'lru-cache';
import { OAuthError } from '../../core/oauth-errors.ts';
import type { ApplicationDoc } from '../../store/applications.ts';
import { Applications, grantTypesFor, isPublicClient } from '../applications/applications.ts';
import type { Issuer } from './issuers.ts';

/** How the request presented its client (RFC 6749 §2.3.1). */
export interface ClientCredentials {
  authorization?: string | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
}

export interface AuthenticatedClient {
  app: ApplicationDoc;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

function decodeBasic(header: string): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    const form = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

const invalidClient = (internal: string) => new OAuthError('invalid_client', 'Client authentication failed', internal);

/**
 * The apps an issuer serves: a tenant issuer its TENANT apps (PARTNER apps once partners own
 * tenants), the platform issuer GLOBAL apps only. Lookups are cached for a few seconds: the token
 * endpoint of a busy service asks for the same client on every call. Every write to
 * `applications`, by this process or (announced) by another replica, empties the cache (`evict`,
 * wired by the composition root), so a suspended app or a regenerated secret takes effect
 * everywhere within the announcement poll; the expiry bounds what bypasses ScaiKey.
 */
export class OAuthClients {
  private readonly cache = new LRUCache<string, { app: ApplicationDoc | null }>({ max: 5_000, ttl: 5_000 });
  /** Moves on every eviction: a read that overlapped a write is not kept. */
  private generation = 0;

  constructor(private readonly applications: Applications) {}

  /** The live app of this client_id (cached, unknown ones too), active or not. */
  private async lookup(clientId: string): Promise<ApplicationDoc | null> {
    const cached = this.cache.get(clientId);
    if (cached) return cached.app;
    const generation = this.generation;
    const entry = { app: await this.applications.byClientId(clientId) };
    if (generation === this.generation) this.cache.set(clientId, entry);
    return entry.app;
  }

  /** An app was written: forget every cached client (app writes are rare; the cache is keyed by client_id, not `_id`). */
  evict(): void {
    this.generation++;
    this.cache.clear();
  }

  async find(issuer: Issuer, clientId: string | undefined): Promise<ApplicationDoc | null> {
    if (!clientId || clientId.length > 200) return null;
    const app = await this.lookup(clientId);
    if (!app || app.status !== 'active') return null;
    return servesApp(issuer, app) ? app : null;
  }

  /** Whether the app behind this client_id is live and active. */
  async isActive(clientId: string): Promise<boolean> {
    return (await this.lookup(clientId))?.status === 'active';
  }

  /**
   * Client authentication at the token, revocation and introspection endpoints: HTTP Basic or
   * the form's client_secret for confidential apps, the client_id alone for public ones; never two
   * methods at once (RFC 6749 §2.3).
   */
  async authenticate(issuer: Issuer, presented: ClientCredentials): Promise<AuthenticatedClient> {
    let id = presented.clientId;
    let secret: string | undefined;
    let method: AuthenticatedClient['method'] = 'none';
    if (presented.authorization && /^Basic\s/i.test(presented.authorization)) {
      const basic = decodeBasic(presented.authorization);
      if (!basic) throw invalidClient('malformed Basic credentials');
      if (presented.clientSecret !== undefined) throw new OAuthError('invalid_request', 'Use one client authentication method only');
      if (id !== undefined && id !== basic.id) throw new OAuthError('invalid_request', 'client_id does not match the authenticated client');
      id = basic.id;
      secret = basic.secret;
      method = 'client_secret_basic';
    } else if (presented.clientSecret !== undefined) {
      secret = presented.clientSecret;
      method = 'client_secret_post';
    }
    if (!id) throw new OAuthError('invalid_client', 'Client authentication failed', 'no client_id');
    const app = await this.find(issuer, id);
    if (!app) throw invalidClient(`unknown client ${id.slice(0, 64)}`);
    if (isPublicClient(app.application_type)) {
      if (method !== 'none') throw invalidClient('a public client has no secret');
      return { app, method };
    }
    if (secret === undefined || !Applications.secretMatches(app, secret)) throw invalidClient('wrong or missing client secret');
    return { app, method };
  }
}

/** Whether this issuer serves this app (GLOBAL apps use the platform issuer only). */
export function servesApp(issuer: Issuer, app: ApplicationDoc): boolean {
  if (issuer.kind === 'platform') return app.scope === 'GLOBAL';
  if (app.scope === 'TENANT') return app.tenant_id?.equals(issuer.tenant._id) ?? false;
  // PARTNER apps use the tenant endpoints of their partner's tenants (docs §3).
  return app.scope === 'PARTNER' && Boolean(app.partner_id) && issuer.tenant.partner_id === app.partner_id;
}

export function allowsGrant(app: ApplicationDoc, grantType: string): boolean {
  return grantTypesFor(app.application_type).includes(grantType);
}
