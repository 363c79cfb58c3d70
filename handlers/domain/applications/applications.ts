import { randomBytes } from 'node:crypto';
import type { ObjectId } from 'mongodb';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import type {
  ApplicationChanges, ApplicationDoc, ApplicationQuery, ApplicationScope, ApplicationStore, ApplicationType, IdTokenAlg,
} from '../../store/applications.ts';
import { constantTimeEqual, hashToken } from '../crypto/secrets.ts';
import type { PartnerLimits } from '../partners/partner-limits.ts';
import type { TenantDoc } from '../../store/tenants.ts';

export const applicationTypes: readonly ApplicationType[] = ['WEB', 'SERVICE', 'SPA', 'NATIVE'];
export const applicationScopes: readonly ApplicationScope[] = ['GLOBAL', 'PARTNER', 'TENANT'];

/** SPA and NATIVE apps run where a secret cannot be kept: no secret, PKCE always, no client_credentials. */
export function isPublicClient(type: ApplicationType): boolean {
  return type === 'SPA' || type === 'NATIVE';
}

/** The grants an application type may use (RFC 6749 §2.1; RFC 8693 for confidential clients). */
export function grantTypesFor(type: ApplicationType): string[] {
  switch (type) {
    case 'SERVICE': return ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'];
    case 'WEB': return ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'];
    case 'SPA':
    case 'NATIVE': return ['authorization_code', 'refresh_token'];
  }
}

export const DEFAULT_TOKEN_LIFETIME = 3600;
export const DEFAULT_ALLOWED_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

export interface NewApplication {
  name: string;
  description?: string | null;
  application_type: ApplicationType;
  scope: ApplicationScope;
  tenant_id?: ObjectId | null;
  partner_id?: string | null;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  allowed_origins?: string[];
  allowed_scopes?: string[];
  token_lifetime?: number;
  skip_consent?: boolean;
  id_token_signed_response_alg?: IdTokenAlg;
}

/** A created application with its secret, which is shown this once and never stored in the clear. */
export interface CreatedApplication {
  application: ApplicationDoc;
  clientSecret: string | null;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/; // RFC 6749 §3.3 scope-token
const MAX_LIST = 100;

function newApplicationId(): string {
  return `app_${randomBytes(12).toString('hex')}`;
}

function newClientId(): string {
  return randomBytes(16).toString('hex');
}

/** 256 bits from the CSPRNG; the prefix lets secret scanners recognise a leaked one. */
function newClientSecret(): string {
  return `sks_${randomBytes(32).toString('base64url')}`;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/**
 * A redirect URI is compared exactly, so it must be one absolute URI without a fragment or a
 * wildcard (RFC 6749 §3.1.2, OAuth 2.0 Security BCP §4.1). Web apps need https (http only on
 * loopback, for development); native apps may use a private-use scheme (RFC 8252 §7.1).
 */
export function redirectUriProblem(uri: string, type: ApplicationType): string | null {
  if (uri.length > 2000) return 'must be at most 2000 characters';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URI';
  }
  if (url.hash || uri.includes('#')) return 'must not contain a fragment';
  if (uri.includes('*')) return 'must not contain a wildcard';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname) ? null : 'must use https (http is allowed only on localhost)';
  if (type === 'NATIVE' && /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol)) return null;
  return type === 'NATIVE' ? 'must use https, http on localhost, or a reverse-domain private scheme' : 'must use https';
}

function originProblem(origin: string): string | null {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return 'must be an origin such as https://app.example.com';
  }
  if (url.origin !== origin) return 'must be an origin such as https://app.example.com (scheme, host and port only)';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) return 'must use https';
  return null;
}

function checkList(field: string, values: string[] | undefined, problem: (value: string) => string | null): void {
  if (values === undefined) return;
  if (values.length > MAX_LIST) throw new InvalidInput({ field, reason: `at most ${MAX_LIST} entries` });
  for (const value of values) {
    const reason = problem(value);
    if (reason) throw new InvalidInput({ field, reason: `${value.slice(0, 100)} ${reason}` });
  }
}

function checkChanges(type: ApplicationType, changes: ApplicationChanges | NewApplication): void {
  if (changes.name !== undefined && (changes.name.trim().length === 0 || changes.name.length > 200)) {
    throw new InvalidInput({ field: 'name', reason: 'must be 1 to 200 characters' });
  }
  checkList('redirect_uris', changes.redirect_uris, (uri) => redirectUriProblem(uri, type));
  checkList('post_logout_redirect_uris', changes.post_logout_redirect_uris, (uri) => redirectUriProblem(uri, type));
  checkList('allowed_origins', changes.allowed_origins, originProblem);
  checkList('allowed_scopes', changes.allowed_scopes, (scope) => (SCOPE_TOKEN.test(scope) ? null : 'is not a valid scope name'));
  if (changes.token_lifetime !== undefined && (!Number.isInteger(changes.token_lifetime) || changes.token_lifetime < 60 || changes.token_lifetime > 86_400)) {
    throw new InvalidInput({ field: 'token_lifetime', reason: 'must be a whole number of seconds from 60 to 86400' });
  }
  if (type === 'SERVICE' && changes.redirect_uris && changes.redirect_uris.length > 0) {
    throw new InvalidInput({ field: 'redirect_uris', reason: 'a SERVICE application has no redirect URIs (it uses client_credentials)' });
  }
}

const unique = (values: string[]) => [...new Set(values)];

/** Registration and lookup of OAuth clients; the owner and reach rules sit with the admin API. */
export class Applications {
  constructor(
    private readonly store: ApplicationStore,
    private readonly clock: Clock,
    /** The owning tenant's partner's `max_applications_per_tenant` (TENANT apps). */
    private readonly limits?: PartnerLimits,
    /** The tenant of a TENANT app, to find its partner. */
    private readonly tenantOf?: (id: ObjectId) => Promise<TenantDoc | null>,
  ) {}

  async create(input: NewApplication): Promise<CreatedApplication> {
    checkChanges(input.application_type, input);
    if (input.scope === 'TENANT' && !input.tenant_id) throw new InvalidInput({ field: 'tenant_id', reason: 'a TENANT application needs its tenant' });
    if (input.scope === 'PARTNER' && !input.partner_id) throw new InvalidInput({ field: 'partner_id', reason: 'a PARTNER application needs its partner' });
    if (input.scope === 'GLOBAL' && input.tenant_id) throw new InvalidInput({ field: 'tenant_id', reason: 'a GLOBAL application belongs to no tenant' });
    const now = this.clock.now();
    const confidential = !isPublicClient(input.application_type);
    const clientSecret = confidential ? newClientSecret() : null;
    const doc: ApplicationDoc = {
      _id: newApplicationId(),
      name: input.name.trim(),
      description: input.description ?? null,
      application_type: input.application_type,
      scope: input.scope,
      tenant_id: input.scope === 'TENANT' ? input.tenant_id ?? null : null,
      partner_id: input.partner_id ?? null,
      client_id: newClientId(),
      client_secret_hash: clientSecret ? hashToken(clientSecret) : null,
      client_secret_created_at: clientSecret ? now : null,
      redirect_uris: unique(input.redirect_uris ?? []),
      post_logout_redirect_uris: unique(input.post_logout_redirect_uris ?? []),
      allowed_origins: unique(input.allowed_origins ?? []),
      allowed_scopes: unique(input.allowed_scopes ?? DEFAULT_ALLOWED_SCOPES),
      token_lifetime: input.token_lifetime ?? DEFAULT_TOKEN_LIFETIME,
      skip_consent: input.skip_consent ?? false,
      id_token_signed_response_alg: input.id_token_signed_response_alg ?? 'RS256',
      status: 'active',
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    const owner = doc.tenant_id && this.limits && this.tenantOf ? await this.tenantOf(doc.tenant_id) : null;
    // A slot under the partner's limit first (409 when full, nothing written), given back if the insert fails.
    const reserved = owner ? await this.limits!.reserveApplication(owner) : false;
    let inserted = false;
    try {
      inserted = await this.store.insert(doc);
    } finally {
      if (!inserted && reserved) await this.limits!.releaseApplication(owner!);
    }
    if (!inserted) throw new ApiError('internal', { internal: 'client_id collision' });
    return { application: doc, clientSecret };
  }

  get(id: string): Promise<ApplicationDoc | null> {
    return this.store.findById(id);
  }

  list(query: ApplicationQuery, page: { skip: number; limit: number }): Promise<{ items: ApplicationDoc[]; total: number }> {
    return this.store.list(query, page);
  }

  byClientId(clientId: string): Promise<ApplicationDoc | null> {
    return this.store.findByClientId(clientId);
  }

  async update(app: ApplicationDoc, changes: ApplicationChanges): Promise<ApplicationDoc> {
    checkChanges(app.application_type, changes);
    const normalised: ApplicationChanges = { ...changes };
    for (const key of ['redirect_uris', 'post_logout_redirect_uris', 'allowed_origins', 'allowed_scopes'] as const) {
      const list = normalised[key];
      if (list) normalised[key] = unique(list);
    }
    if (normalised.name !== undefined) normalised.name = normalised.name.trim();
    const updated = await this.store.update(app._id, normalised, this.clock.now());
    if (!updated) throw new ApiError('notFound');
    return updated;
  }

  /** A new secret for a confidential app; the old one stops working at once. */
  async rotateSecret(app: ApplicationDoc): Promise<CreatedApplication> {
    if (isPublicClient(app.application_type)) throw new InvalidInput({ field: 'application_type', reason: 'a public client has no secret' });
    const clientSecret = newClientSecret();
    const updated = await this.store.replaceSecret(app._id, hashToken(clientSecret), this.clock.now());
    if (!updated) throw new ApiError('notFound');
    return { application: updated, clientSecret };
  }

  async remove(app: ApplicationDoc): Promise<void> {
    if (!(await this.store.softDelete(app._id, this.clock.now()))) throw new ApiError('notFound');
    const owner = app.tenant_id && this.limits && this.tenantOf ? await this.tenantOf(app.tenant_id) : null;
    if (owner) await this.limits!.releaseApplication(owner);
  }

  /** Constant-time comparison of a presented secret with the stored hash. */
  static secretMatches(app: ApplicationDoc, presented: string): boolean {
    if (!app.client_secret_hash) return false;
    return constantTimeEqual(hashToken(presented), app.client_secret_hash);
  }
}
