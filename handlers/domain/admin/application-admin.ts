import { endpointsOf, platformIssuerUrl, tenantIssuerUrl } from '../../core/oauth-paths.ts';
import { ObjectId } from 'mongodb';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { ApplicationChanges, ApplicationDoc, ApplicationQuery, ApplicationScope, IdTokenAlg } from '../../store/applications.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import { applicationScopes, applicationTypes, grantTypesFor, isPublicClient, type Applications, type NewApplication } from '../applications/applications.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { isPlatformTenant, type Tenants } from '../tenants/tenants.ts';
import { actorSummary, type AdminActor, type AdminReach } from './admin-access.ts';
import { internalHex, noSuchId, parsePublicId, tenantPublicId } from '../../core/public-ids.ts';
import { adminAuditBase } from './admin-audit.ts';

/** The request facts an admin write is audited with. */
export interface AdminRequest extends ClientInfo {
  requestId: string;
}

/** An application as the admin API shows it: never the secret, nor its hash. */
export function applicationView(app: ApplicationDoc) {
  return {
    id: app._id,
    client_id: app.client_id,
    name: app.name,
    description: app.description,
    application_type: app.application_type,
    scope: app.scope,
    tenant_id: app.tenant_id ? tenantPublicId(app.tenant_id) : null,
    partner_id: app.partner_id,
    is_confidential: !isPublicClient(app.application_type),
    grant_types: grantTypesFor(app.application_type),
    redirect_uris: app.redirect_uris,
    post_logout_redirect_uris: app.post_logout_redirect_uris,
    allowed_origins: app.allowed_origins,
    allowed_scopes: app.allowed_scopes,
    token_lifetime: app.token_lifetime,
    skip_consent: app.skip_consent,
    id_token_signed_response_alg: app.id_token_signed_response_alg,
    status: app.status,
    client_secret_created_at: app.client_secret_created_at ? app.client_secret_created_at.toISOString() : null,
    created_at: app.created_at.toISOString(),
    updated_at: app.updated_at.toISOString(),
  };
}

export type ApplicationView = ReturnType<typeof applicationView>;

/** A new application as the API and the CLI give it: ids and enums still unchecked strings. */
export type ApplicationInput = Omit<NewApplication, 'application_type' | 'scope' | 'tenant_id' | 'id_token_signed_response_alg'> & {
  application_type: string;
  scope: string;
  tenant_id?: string | null;
  id_token_signed_response_alg?: string;
};

export type ApplicationPatch = Partial<Omit<ApplicationInput, 'name'>> & { name?: string; status?: string };

export interface ApplicationFilters {
  page: number;
  perPage: number;
  tenantId?: string | undefined;
  partnerId?: string | undefined;
  scope?: string | undefined;
  applicationType?: string | undefined;
  search?: string | undefined;
}

const partnerIdPattern = /^prt_[A-Za-z0-9_-]{1,64}$/;
const fixedFields = ['scope', 'application_type', 'tenant_id', 'partner_id'] as const;

function oneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidInput({ field, reason: `must be one of ${allowed.join(', ')}` });
  return value as T;
}

/**
 * The Applications group of the admin API: who sees and manages which OAuth clients (docs §8.4).
 * Super admins (and GLOBAL platform tokens) reach everything; partner admins GLOBAL apps, their
 * partner's PARTNER apps and the TENANT apps of its tenants; tenant admins GLOBAL apps, their
 * partner's PARTNER apps and their own tenant's TENANT apps. Creating and changing follow the
 * creation rules: an app the caller may see but not register answers 403; one it may not see,
 * 404 (no oracle of other owners' apps). Every write is audited, refusals included.
 */
export class ApplicationAdmin {
  constructor(
    private readonly deps: { applications: Applications; tenants: Tenants; audit: AuditLog },
    private readonly settings: { publicBaseUrl: string },
  ) {}

  async list(actor: AdminActor, filters: ApplicationFilters) {
    const query: ApplicationQuery = {};
    const visible = await this.visibility(actor.reach);
    if (visible) query.visibleTo = visible;
    if (filters.tenantId !== undefined) {
      // An id that cannot exist matches nothing (the same as an unknown one).
      query.tenantId = parsePublicId('tenant', filters.tenantId) ?? noSuchId;
    }
    if (filters.partnerId !== undefined) query.partner = { partnerId: filters.partnerId, tenantIds: await this.deps.tenants.idsOfPartner(filters.partnerId) };
    if (filters.scope !== undefined) query.scope = oneOf('scope', filters.scope, applicationScopes);
    if (filters.applicationType !== undefined) query.applicationType = oneOf('application_type', filters.applicationType, applicationTypes);
    if (filters.search) query.search = filters.search;
    const { items, total } = await this.deps.applications.list(query, { skip: (filters.page - 1) * filters.perPage, limit: filters.perPage });
    return { items: items.map(applicationView), total, page: filters.page, per_page: filters.perPage };
  }

  async get(actor: AdminActor, id: string): Promise<ApplicationView> {
    return applicationView(await this.visible(actor, id));
  }

  async create(actor: AdminActor, input: ApplicationInput, request: AdminRequest): Promise<{ application: ApplicationView; clientSecret: string | null }> {
    return this.audited(actor, request, 'admin.application.create', null, async () => {
      const type = oneOf('application_type', input.application_type, applicationTypes);
      const scope = oneOf('scope', input.scope, applicationScopes);
      const owner = await this.ownerFor(actor.reach, scope, input.tenant_id ?? null, input.partner_id ?? null);
      const created = await this.deps.applications.create({
        ...this.settable(input),
        name: input.name,
        application_type: type,
        scope,
        tenant_id: owner.tenant?._id ?? null,
        partner_id: owner.partnerId,
      });
      return { result: { application: applicationView(created.application), clientSecret: created.clientSecret }, target: created.application };
    });
  }

  async update(actor: AdminActor, id: string, patch: ApplicationPatch, request: AdminRequest): Promise<ApplicationView> {
    return this.audited(actor, request, 'admin.application.update', id, async () => {
      const app = await this.manageable(actor, id);
      for (const field of fixedFields) {
        const given = patch[field];
        if (given === undefined) continue;
        const current = field === 'tenant_id' ? (app.tenant_id?.toHexString() ?? null) : app[field];
        const compared = field === 'tenant_id' && typeof given === 'string' ? internalHex('tenant', given) : given;
        if (compared !== current) throw new InvalidInput({ field, reason: `${field} is fixed at registration and cannot be changed` });
      }
      const changes: ApplicationChanges = this.settable(patch);
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.status !== undefined) changes.status = oneOf('status', patch.status, ['active', 'suspended'] as const);
      const updated = await this.deps.applications.update(app, changes);
      return { result: applicationView(updated), target: updated, details: { fields: Object.keys(changes) } };
    });
  }

  async remove(actor: AdminActor, id: string, request: AdminRequest): Promise<void> {
    await this.audited(actor, request, 'admin.application.delete', id, async () => {
      const app = await this.manageable(actor, id);
      await this.deps.applications.remove(app);
      return { result: undefined, target: app };
    });
  }

  async rotateSecret(actor: AdminActor, id: string, request: AdminRequest): Promise<{ application: ApplicationView; clientSecret: string }> {
    return this.audited(actor, request, 'admin.application.secret_rotated', id, async () => {
      const app = await this.manageable(actor, id);
      const rotated = await this.deps.applications.rotateSecret(app);
      return { result: { application: applicationView(rotated.application), clientSecret: rotated.clientSecret! }, target: rotated.application };
    });
  }

  /** Where the app's OAuth endpoints are (the console shows them beside the client id). */
  async endpoints(actor: AdminActor, id: string) {
    const app = await this.visible(actor, id);
    const base = this.settings.publicBaseUrl.replace(/\/+$/, '');
    let issuer: Parameters<typeof endpointsOf>[0];
    if (app.scope === 'GLOBAL') issuer = { kind: 'platform', url: platformIssuerUrl(base) };
    else {
      // PARTNER apps use the tenant-scoped endpoints with the tenant in the URL (docs §3).
      const tenant = app.tenant_id ? await this.deps.tenants.findActiveById(app.tenant_id) : null;
      issuer = { kind: 'tenant', url: tenantIssuerUrl(base, tenant?.slug ?? '{tenant_slug}') };
    }
    const endpoints = endpointsOf(issuer, base);
    return {
      application_id: app._id,
      client_id: app.client_id,
      scope: app.scope,
      issuer: issuer.url,
      discovery_url: endpoints.discovery,
      authorization_endpoint: endpoints.authorization,
      token_endpoint: endpoints.token,
      jwks_uri: endpoints.jwks,
    };
  }

  // ---------------------------------------------------------------------------------------------

  /** The optional settings of a create or a patch, typed for the store. */
  private settable(input: Partial<ApplicationInput>): Omit<NewApplication, 'name' | 'application_type' | 'scope'> & ApplicationChanges {
    const out: Omit<NewApplication, 'name' | 'application_type' | 'scope'> & ApplicationChanges = {};
    if (input.description !== undefined) out.description = input.description;
    if (input.redirect_uris !== undefined) out.redirect_uris = input.redirect_uris;
    if (input.post_logout_redirect_uris !== undefined) out.post_logout_redirect_uris = input.post_logout_redirect_uris;
    if (input.allowed_origins !== undefined) out.allowed_origins = input.allowed_origins;
    // Replaces the list (docs §3): no merge with the old one.
    if (input.allowed_scopes !== undefined) out.allowed_scopes = input.allowed_scopes;
    if (input.token_lifetime !== undefined) out.token_lifetime = input.token_lifetime;
    if (input.skip_consent !== undefined) out.skip_consent = input.skip_consent;
    if (input.id_token_signed_response_alg !== undefined) out.id_token_signed_response_alg = oneOf('id_token_signed_response_alg', input.id_token_signed_response_alg, ['RS256', 'ES256'] as const satisfies readonly IdTokenAlg[]);
    return out;
  }

  /** GLOBAL apps plus the partner and tenant apps within reach; undefined: everything. */
  private async visibility(reach: AdminReach): Promise<ApplicationQuery['visibleTo']> {
    switch (reach.kind) {
      case 'platform': return undefined;
      case 'partner': return { partnerIds: [reach.partnerId], tenantIds: await this.deps.tenants.idsOfPartner(reach.partnerId) };
      case 'tenant': return { partnerIds: reach.partnerId ? [reach.partnerId] : [], tenantIds: [reach.tenantId] };
    }
  }

  private async tenantInPartner(tenantId: ObjectId | null, partnerId: string): Promise<boolean> {
    if (!tenantId) return false;
    const tenant = await this.deps.tenants.findActiveById(tenantId);
    return tenant?.partner_id === partnerId;
  }

  private async canSee(reach: AdminReach, app: ApplicationDoc): Promise<boolean> {
    if (reach.kind === 'platform' || app.scope === 'GLOBAL') return true;
    if (reach.kind === 'partner') return app.scope === 'PARTNER' ? app.partner_id === reach.partnerId : this.tenantInPartner(app.tenant_id, reach.partnerId);
    return app.scope === 'PARTNER' ? reach.partnerId !== null && app.partner_id === reach.partnerId : app.tenant_id?.equals(reach.tenantId) === true;
  }

  /** The registration rules (docs §8.4), which also decide who may change or delete an app. */
  private async canManage(reach: AdminReach, app: ApplicationDoc): Promise<boolean> {
    if (reach.kind === 'platform') return true;
    if (reach.kind === 'partner') {
      if (app.scope === 'PARTNER') return app.partner_id === reach.partnerId;
      return app.scope === 'TENANT' && this.tenantInPartner(app.tenant_id, reach.partnerId);
    }
    return app.scope === 'TENANT' && app.tenant_id?.equals(reach.tenantId) === true;
  }

  private async visible(actor: AdminActor, id: string): Promise<ApplicationDoc> {
    const app = await this.deps.applications.get(id);
    if (!app || !(await this.canSee(actor.reach, app))) throw new ApiError('notFound');
    return app;
  }

  private async manageable(actor: AdminActor, id: string): Promise<ApplicationDoc> {
    const app = await this.visible(actor, id);
    if (!(await this.canManage(actor.reach, app))) throw new ApiError('adminOutOfReach');
    return app;
  }

  /** The owner of a new app, by the creation rules: defaults from the caller's reach, refusals outside it. */
  private async ownerFor(reach: AdminReach, scope: ApplicationScope, tenantId: string | null, partnerId: string | null): Promise<{ tenant: TenantDoc | null; partnerId: string | null }> {
    if (partnerId !== null && !partnerIdPattern.test(partnerId)) throw new InvalidInput({ field: 'partner_id', reason: 'must be a partner id (prt_…)' });
    if (scope === 'GLOBAL') {
      if (reach.kind !== 'platform') throw new ApiError('adminOutOfReach', { internal: 'only super admins register GLOBAL apps' });
      if (tenantId !== null || partnerId !== null) throw new InvalidInput({ field: tenantId !== null ? 'tenant_id' : 'partner_id', reason: 'a GLOBAL application belongs to no tenant or partner' });
      return { tenant: null, partnerId: null };
    }
    if (scope === 'PARTNER') {
      if (tenantId !== null) throw new InvalidInput({ field: 'tenant_id', reason: 'a PARTNER application belongs to a partner, not a tenant' });
      if (reach.kind === 'tenant') throw new ApiError('adminOutOfReach', { internal: 'tenant admins register TENANT apps only' });
      const owner = partnerId ?? (reach.kind === 'partner' ? reach.partnerId : null);
      if (!owner) throw new InvalidInput({ field: 'partner_id', reason: 'a PARTNER application needs its partner' });
      if (reach.kind === 'partner' && owner !== reach.partnerId) throw new ApiError('adminOutOfReach', { internal: 'another partner' });
      return { tenant: null, partnerId: owner };
    }
    // TENANT
    const wanted = tenantId ?? (reach.kind === 'tenant' ? reach.tenantId.toHexString() : null);
    if (!wanted) throw new InvalidInput({ field: 'tenant_id', reason: 'a TENANT application needs its tenant' });
    const wantedId = parsePublicId('tenant', wanted);
    const tenant = wantedId ? await this.deps.tenants.findActiveById(wantedId) : null;
    const inReach = tenant !== null && !isPlatformTenant(tenant) && (
      reach.kind === 'platform' || (reach.kind === 'partner' ? tenant.partner_id === reach.partnerId : tenant._id.equals(reach.tenantId)));
    if (!inReach) {
      // Outside the caller's reach and unknown look alike to anyone but a super admin.
      if (reach.kind === 'platform') throw new InvalidInput({ field: 'tenant_id', reason: 'no active tenant has this id' });
      throw new ApiError('adminOutOfReach', { internal: 'tenant outside reach or unknown' });
    }
    if (partnerId !== null && partnerId !== (tenant.partner_id ?? null)) throw new InvalidInput({ field: 'partner_id', reason: "a TENANT application's partner is its tenant's" });
    return { tenant, partnerId: tenant.partner_id ?? null };
  }

  /** Runs an admin write and records it: actor, target, result, address and request id. */
  private async audited<T>(
    actor: AdminActor,
    request: AdminRequest,
    type: string,
    targetId: string | null,
    work: () => Promise<{ result: T; target: ApplicationDoc; details?: Record<string, unknown> }>,
  ): Promise<T> {
    const base = adminAuditBase(actor, request, type);
    const details = (extra: Record<string, unknown>) => ({ actor: actorSummary(actor), request_id: request.requestId, ...extra });
    try {
      const { result, target, details: more } = await work();
      await this.deps.audit.record({ ...base, outcome: 'success', tenantId: target.tenant_id, details: details({ target: { type: 'application', id: target._id }, ...more }) });
      return result;
    } catch (error) {
      const reason = error instanceof ApiError ? error.id : error instanceof InvalidInput ? 'invalid_input' : 'error';
      await this.deps.audit.record({ ...base, outcome: 'failure', tenantId: actor.kind === 'user' ? actor.user.tenant_id : null, details: details({ target: { type: 'application', id: targetId }, reason }) });
      throw error;
    }
  }
}

