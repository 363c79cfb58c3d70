import type { ObjectId } from 'mongodb';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import { parsePublicId, partnerIdPattern, tenantPublicId } from '../../core/public-ids.ts';
import type { PasswordPolicy, TenantAdminChanges, TenantBranding, TenantDoc, TenantQuery, TenantSettings } from '../../store/tenants.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { checkSettingRanges } from '../tenants/platform-settings.ts';
import { emptyBranding, isPlatformTenant, type Tenants } from '../tenants/tenants.ts';
import type { AdminActor, AdminReach } from './admin-access.ts';
import { auditedAdminWrite } from './admin-audit.ts';
import type { AdminRequest } from './application-admin.ts';

/** The API's word for a tenant's status (`disabled`, the CLI's older word, is shown as suspended). */
const statusOf = (tenant: TenantDoc): 'active' | 'suspended' => (tenant.status === 'active' ? 'active' : 'suspended');

export function tenantView(t: TenantDoc) {
  const s = t.settings;
  return {
    id: tenantPublicId(t._id),
    slug: t.slug,
    name: t.name,
    status: statusOf(t),
    partner_id: t.partner_id ?? null,
    contact_email: t.contact_email ?? null,
    settings: {
      self_registration: s.self_registration,
      require_email_verification: s.require_email_verification,
      mfa_required: s.mfa_required,
      mfa_methods: s.mfa_methods,
      password_policy: s.password_policy,
      allowed_redirect_uris: s.allowed_redirect_uris,
      access_token_ttl: s.access_token_ttl,
      refresh_idle_ttl: s.refresh_idle_ttl,
      refresh_absolute_ttl: s.refresh_absolute_ttl,
      lockout: s.lockout,
    },
    branding: { ...emptyBranding, ...t.branding },
    created_at: t.created_at.toISOString(),
    updated_at: t.updated_at.toISOString(),
  };
}

export type TenantView = ReturnType<typeof tenantView>;

export type TenantSettingsInput = Partial<Omit<TenantSettings, 'password_policy' | 'webauthn_rp_id' | 'webauthn_origins'>> & { password_policy?: Partial<PasswordPolicy> };

export interface TenantInput {
  name: string;
  slug: string;
  partner_id?: string | null;
  contact_email?: string | null;
  settings?: TenantSettingsInput;
  branding?: Partial<TenantBranding>;
}

export type TenantPatch = Partial<Omit<TenantInput, 'name' | 'slug'>> & { name?: string; slug?: string; status?: string };

export interface TenantFilters {
  page: number;
  perPage: number;
  search?: string | undefined;
  status?: string | undefined;
  partnerId?: string | undefined;
}

const colour = /^#[0-9a-fA-F]{6}$/;
const loopback = new Set(['localhost', '127.0.0.1', '[::1]']);
const settingKeys = new Set(['self_registration', 'require_email_verification', 'mfa_required', 'mfa_methods', 'password_policy', 'allowed_redirect_uris', 'access_token_ttl', 'refresh_idle_ttl', 'refresh_absolute_ttl', 'lockout']);

/** Redirect URIs: absolute https URLs without a fragment (http only for loopback hosts). */
function checkRedirectUris(uris: unknown): void {
  if (!Array.isArray(uris)) throw new InvalidInput({ field: 'settings.allowed_redirect_uris', reason: 'must be a list of URLs' });
  for (const uri of uris) {
    let url: URL | null = null;
    try {
      url = typeof uri === 'string' ? new URL(uri) : null;
    } catch {
      url = null;
    }
    const ok = url !== null && !url.hash && (url.protocol === 'https:' || (url.protocol === 'http:' && loopback.has(url.hostname)));
    if (!ok) throw new InvalidInput({ field: 'settings.allowed_redirect_uris', reason: `not an absolute https URL: ${String(uri).slice(0, 100)}` });
  }
}

/** Branding as the hosted pages may show it: escaped text, https logos, `#rrggbb` colours. */
export function checkBranding(branding: Partial<TenantBranding>): Partial<TenantBranding> {
  const out: Partial<TenantBranding> = {};
  for (const [key, value] of Object.entries(branding)) {
    if (value === undefined) continue;
    if (!['name', 'logo_url', 'primary_color', 'background_color'].includes(key)) throw new InvalidInput({ field: `branding.${key}`, reason: 'unknown branding field' });
    if (value !== null && typeof value !== 'string') throw new InvalidInput({ field: `branding.${key}`, reason: 'must be a string or null', kind: 'string_type' });
    if (value !== null && key === 'name' && (value.trim() === '' || value.length > 100)) throw new InvalidInput({ field: 'branding.name', reason: 'must be 1 to 100 characters' });
    if (value !== null && key === 'logo_url') {
      let url: URL | null = null;
      try {
        url = new URL(value);
      } catch {
        url = null;
      }
      if (!url || url.protocol !== 'https:' || value.length > 2000) throw new InvalidInput({ field: 'branding.logo_url', reason: 'must be an https URL' });
    }
    if (value !== null && (key === 'primary_color' || key === 'background_color') && !colour.test(value)) throw new InvalidInput({ field: `branding.${key}`, reason: 'must be a colour #rrggbb' });
    out[key as keyof TenantBranding] = value === null ? null : key === 'name' ? value.trim() : key.endsWith('_color') ? value.toLowerCase() : value;
  }
  return out;
}

/** Settings input checked (ranges, methods, URIs) and flattened to the fields it names. */
function checkSettings(input: TenantSettingsInput, current: PasswordPolicy | null): Record<string, unknown> {
  for (const key of Object.keys(input)) if (!settingKeys.has(key)) throw new InvalidInput({ field: `settings.${key}`, reason: 'unknown setting' });
  const merged = input.password_policy ? { ...(current ?? { min_length: 15, max_length: 128, block_common: true }), ...input.password_policy } : null;
  checkSettingRanges(input, merged);
  if (input.allowed_redirect_uris !== undefined) checkRedirectUris(input.allowed_redirect_uris);
  if (input.lockout) {
    const { threshold, duration_seconds } = input.lockout;
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > 100) throw new InvalidInput({ field: 'settings.lockout.threshold', reason: 'must be an integer from 1 to 100' });
    if (!Number.isInteger(duration_seconds) || duration_seconds < 1 || duration_seconds > 86_400) throw new InvalidInput({ field: 'settings.lockout.duration_seconds', reason: 'must be an integer from 1 to 86400' });
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (key === 'password_policy') {
      for (const [k, v] of Object.entries(value as Partial<PasswordPolicy>)) if (v !== undefined) out[`password_policy.${k}`] = v;
    } else if (key === 'allowed_redirect_uris' || key === 'mfa_methods') out[key] = [...new Set(value as string[])];
    else out[key] = value;
  }
  return out;
}

/**
 * The Tenants group (docs §8.5): super admins (and GLOBAL platform tokens) read and write every
 * regular tenant; partner admins read their partner's tenants, tenant admins their own. A
 * tenant outside the caller's reach answers 404; a write to one it may read, 403. The platform
 * tenant and deleted tenants are never shown. Every write is audited, refusals included.
 */
export class TenantAdmin {
  constructor(private readonly deps: { tenants: Tenants; audit: AuditLog }) {}

  async list(actor: AdminActor, filters: TenantFilters) {
    const query: TenantQuery = {};
    if (filters.search) query.search = filters.search;
    if (filters.status === 'active' || filters.status === 'suspended') query.status = filters.status;
    const reach = actor.reach;
    if (filters.partnerId !== undefined) query.partnerId = filters.partnerId;
    if (reach.kind === 'partner') {
      // Another partner's tenants are not within reach: an empty page, not an oracle.
      if (query.partnerId !== undefined && query.partnerId !== reach.partnerId) query.ids = [];
      query.partnerId = reach.partnerId;
    }
    if (reach.kind === 'tenant') query.ids = [reach.tenantId];
    const { items, total } = await this.deps.tenants.listLive(query, { skip: (filters.page - 1) * filters.perPage, limit: filters.perPage });
    return { items: items.map(tenantView), total, page: filters.page, per_page: filters.perPage };
  }

  async get(actor: AdminActor, id: string): Promise<TenantView> {
    return tenantView(await this.visible(actor, id));
  }

  create(actor: AdminActor, input: TenantInput, request: AdminRequest): Promise<TenantView> {
    return auditedAdminWrite(this.deps.audit, actor, request, 'admin.tenant.create', { type: 'tenant', id: null }, async () => {
      if (actor.reach.kind !== 'platform') throw new ApiError('adminOutOfReach', { internal: 'only super admins create tenants' });
      const partnerId = this.partnerIdOf(input.partner_id);
      const settings = input.settings ? checkSettings(input.settings, null) : {};
      const tenant = await this.deps.tenants.create({
        slug: input.slug,
        name: input.name.trim(),
        partnerId,
        contactEmail: input.contact_email ?? null,
        settings: unflatten(settings) as Partial<TenantSettings>,
        ...(input.branding ? { branding: checkBranding(input.branding) } : {}),
      });
      return { result: tenantView(tenant), targetId: tenantPublicId(tenant._id), tenantId: tenant._id };
    });
  }

  update(actor: AdminActor, id: string, patch: TenantPatch, request: AdminRequest): Promise<TenantView> {
    return auditedAdminWrite(this.deps.audit, actor, request, 'admin.tenant.update', { type: 'tenant', id }, async () => {
      const tenant = await this.manageable(actor, id);
      const changes: TenantAdminChanges = {};
      if (patch.name !== undefined) {
        if (patch.name.trim() === '') throw new InvalidInput({ field: 'name', reason: 'must not be blank' });
        changes.name = patch.name.trim();
      }
      if (patch.slug !== undefined) changes.slug = patch.slug;
      if (patch.status !== undefined) {
        if (patch.status !== 'active' && patch.status !== 'suspended') throw new InvalidInput({ field: 'status', reason: 'must be one of active, suspended' });
        changes.status = patch.status;
      }
      if (patch.contact_email !== undefined) changes.contact_email = patch.contact_email;
      if (patch.partner_id !== undefined) changes.partner_id = this.partnerIdOf(patch.partner_id);
      if (patch.settings !== undefined) changes.settings = checkSettings(patch.settings, tenant.settings.password_policy);
      if (patch.branding !== undefined) changes.branding = checkBranding(patch.branding);
      const updated = await this.deps.tenants.change(tenant, changes);
      return { result: tenantView(updated), targetId: tenantPublicId(tenant._id), tenantId: tenant._id, details: { fields: Object.keys(patch) } };
    });
  }

  remove(actor: AdminActor, id: string, request: AdminRequest): Promise<void> {
    return auditedAdminWrite(this.deps.audit, actor, request, 'admin.tenant.delete', { type: 'tenant', id }, async () => {
      const tenant = await this.manageable(actor, id);
      await this.deps.tenants.remove(tenant);
      return { result: undefined, targetId: tenantPublicId(tenant._id), tenantId: tenant._id };
    });
  }

  /** A live regular tenant by its slug, as the CLI names them (then through the same rules). */
  async idOfSlug(slug: string): Promise<string> {
    const tenant = await this.deps.tenants.getLiveBySlug(slug);
    if (!tenant) throw new ApiError('tenantNotFound');
    return tenantPublicId(tenant._id);
  }

  // ---------------------------------------------------------------------------------------------

  private partnerIdOf(value: string | null | undefined): string | null {
    if (value === undefined || value === null) return null;
    if (!partnerIdPattern.test(value)) throw new InvalidInput({ field: 'partner_id', reason: 'must be a partner id (prt_…)' });
    return value;
  }

  private canSee(reach: AdminReach, tenant: TenantDoc): boolean {
    if (reach.kind === 'platform') return true;
    if (reach.kind === 'partner') return tenant.partner_id === reach.partnerId;
    return tenant._id.equals(reach.tenantId);
  }

  private async visible(actor: AdminActor, id: string): Promise<TenantDoc> {
    const oid: ObjectId | null = parsePublicId('tenant', id);
    const tenant = oid ? await this.deps.tenants.getLive(oid) : null;
    if (!tenant || isPlatformTenant(tenant) || !this.canSee(actor.reach, tenant)) throw new ApiError('notFound');
    return tenant;
  }

  private async manageable(actor: AdminActor, id: string): Promise<TenantDoc> {
    const tenant = await this.visible(actor, id);
    if (actor.reach.kind !== 'platform') throw new ApiError('adminOutOfReach', { internal: 'tenant writes are for super admins' });
    return tenant;
  }
}

/** Dotted setting keys back to nested objects (a new tenant's settings). */
function unflatten(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, any> = {};
  for (const [key, value] of Object.entries(flat)) {
    const [head, tail] = key.split('.', 2) as [string, string | undefined];
    if (tail === undefined) out[head] = value;
    else (out[head] ??= {})[tail] = value;
  }
  return out;
}
