import type { Collection, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

/** `disabled`: the CLI's older word for `suspended` (shown as suspended). */
export type TenantStatus = 'active' | 'suspended' | 'disabled';

export type MfaMethod = 'totp' | 'email' | 'webauthn' | 'backup_code';

export interface PasswordPolicy {
  min_length: number;
  max_length: number;
  /** Refuse passwords from the shipped common-password list. */
  block_common: boolean;
}

export interface LockoutPolicy {
  threshold: number;
  duration_seconds: number;
}

export interface TenantSettings {
  self_registration: boolean;
  require_email_verification: boolean;
  mfa_required: boolean;
  mfa_methods: MfaMethod[];
  password_policy: PasswordPolicy;
  allowed_redirect_uris: string[];
  access_token_ttl: number | null;
  refresh_idle_ttl: number | null;
  refresh_absolute_ttl: number | null;
  lockout: LockoutPolicy | null;
  /** WebAuthn relying party ID; null or absent: the host of PUBLIC_BASE_URL. */
  webauthn_rp_id?: string | null;
  /** Origins WebAuthn ceremonies may come from; null or absent: the origin of PUBLIC_BASE_URL. */
  webauthn_origins?: string[] | null;
}

export interface TenantDoc {
  _id: ObjectId;
  slug: string;
  name: string;
  status: TenantStatus;
  /**
   * `platform`: the reserved tenant that is home to platform administrators (slug `platform`);
   * it is never offered by identify, the portal or a hosted page. Absent: a regular tenant.
   */
  kind?: 'platform';
  /** The partner (`prt_…`) the tenant belongs to; null or absent: none (partners arrive later). */
  partner_id?: string | null;
  settings: TenantSettings;
  contact_email?: string | null;
  /** What the tenant's hosted pages show (validated on write: https logo, #rrggbb colours). */
  branding?: TenantBranding | null;
  /**
   * Users and applications the tenant has, counted only while it belongs to a partner (the
   * partner's per-tenant limits are checked against them with a conditional increment).
   */
  user_count?: number;
  application_count?: number;
  /** Soft delete: the tenant is gone everywhere (hosted pages, identify, tokens, the API). */
  deleted_at?: Date | null;
  /**
   * Its partner is suspended: the tenant is closed like a suspended one (sign-in, tokens, hosted
   * pages) while its own `status` is kept for when the partner is active again. Absent: false.
   */
  partner_suspended?: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface TenantBranding {
  name: string | null;
  logo_url: string | null;
  primary_color: string | null;
  background_color: string | null;
}

export interface TenantQuery {
  search?: string;
  status?: 'active' | 'suspended';
  /** Only these partners' tenants. */
  partnerId?: string;
  /** Only these tenants. */
  ids?: ObjectId[];
}

export interface TenantAdminChanges {
  name?: string;
  slug?: string;
  status?: TenantStatus;
  contact_email?: string | null;
  partner_id?: string | null;
  /** Dotted keys (`password_policy.min_length`) allowed: only the named settings change. */
  settings?: Record<string, unknown>;
  branding?: Partial<TenantBranding>;
}

export type CountedResource = 'user_count' | 'application_count';

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `tenants`: its indexes. */
export const tenantsCollection = defineCollection<TenantDoc>({
  name: 'tenants',
  indexes: [
    { key: { slug: 1 }, name: 'slug_unique', unique: true },
    { key: { partner_id: 1 }, name: 'partner' },
  ],
});

export interface TenantChanges {
  name?: string;
  status?: TenantStatus;
  /** null: the tenant belongs to no partner. */
  partnerId?: string | null;
  /** Only the settings named here change; the others keep their values. */
  settings?: Partial<TenantSettings>;
}

/** Queries and updates on `tenants`. */
export class TenantStore {
  constructor(private readonly tenants: Collection<TenantDoc>) {}

  /** False when the slug is taken. */
  async insert(tenant: TenantDoc): Promise<boolean> {
    try {
      await this.tenants.insertOne(tenant);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** The tenant after the change, or null when no tenant has this slug. */
  update(slug: string, changes: TenantChanges, now: Date): Promise<TenantDoc | null> {
    const set: Record<string, unknown> = { updated_at: now };
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.status !== undefined) set.status = changes.status;
    if (changes.partnerId !== undefined) set.partner_id = changes.partnerId;
    // Field by field, so a partial settings object never wipes the settings it does not name.
    for (const [key, value] of Object.entries(changes.settings ?? {})) set[`settings.${key}`] = value;
    return this.tenants.findOneAndUpdate({ slug }, { $set: set }, { returnDocument: 'after' });
  }

  /** Whether any tenant exists; the collection's estimate is enough to tell empty from not. */
  async any(): Promise<boolean> {
    return (await this.tenants.estimatedDocumentCount()) > 0;
  }

  list(): Promise<TenantDoc[]> {
    return this.tenants.find({}).sort({ slug: 1 }).toArray();
  }

  findById(id: ObjectId): Promise<TenantDoc | null> {
    return this.tenants.findOne({ _id: id });
  }

  findBySlug(slug: string): Promise<TenantDoc | null> {
    return this.tenants.findOne({ slug });
  }

  /** A tenant that is not deleted (any status). */
  findLive(id: ObjectId): Promise<TenantDoc | null> {
    return this.tenants.findOne({ _id: id, deleted_at: null });
  }

  /** Regular (not platform), not deleted tenants matching the query, by slug. */
  async listLive(query: TenantQuery, page: { skip: number; limit: number }): Promise<{ items: TenantDoc[]; total: number }> {
    const filter: Record<string, unknown> = { deleted_at: null, kind: { $ne: 'platform' } };
    if (query.status === 'active') filter.status = 'active';
    else if (query.status === 'suspended') filter.status = { $in: ['suspended', 'disabled'] };
    if (query.partnerId !== undefined) filter.partner_id = query.partnerId;
    if (query.ids) filter._id = { $in: query.ids };
    if (query.search) {
      const re = new RegExp(escapeRegex(query.search), 'i');
      filter.$or = [{ name: re }, { slug: re }];
    }
    const [items, total] = await Promise.all([
      this.tenants.find(filter).sort({ slug: 1 }).skip(page.skip).limit(page.limit).toArray(),
      this.tenants.countDocuments(filter),
    ]);
    return { items, total };
  }

  /**
   * One update by id of a live regular tenant, guarded by `expect` (e.g. its partner as read, so a
   * concurrent move fails instead of crossing). The tenant after it; null when the guard failed
   * or the tenant is gone; 'duplicate' when the new slug is taken (nothing written).
   */
  async updateLive(id: ObjectId, expect: Record<string, unknown>, changes: TenantAdminChanges, now: Date, extra: Record<string, unknown> = {}): Promise<TenantDoc | null | 'duplicate'> {
    const set: Record<string, unknown> = { updated_at: now, ...extra };
    for (const key of ['name', 'slug', 'status', 'contact_email', 'partner_id'] as const) if (changes[key] !== undefined) set[key] = changes[key];
    for (const [key, value] of Object.entries(changes.settings ?? {})) set[`settings.${key}`] = value;
    for (const [key, value] of Object.entries(changes.branding ?? {})) set[`branding.${key}`] = value;
    try {
      return await this.tenants.findOneAndUpdate({ _id: id, deleted_at: null, kind: { $ne: 'platform' }, ...expect }, { $set: set }, { returnDocument: 'after' });
    } catch (error) {
      if (isDuplicateKey(error)) return 'duplicate';
      throw error;
    }
  }

  /** Soft delete; the tenant as it was, or null when it was gone already. */
  softDelete(id: ObjectId, now: Date): Promise<TenantDoc | null> {
    return this.tenants.findOneAndUpdate({ _id: id, deleted_at: null, kind: { $ne: 'platform' } }, { $set: { deleted_at: now, updated_at: now } }, { returnDocument: 'before' });
  }

  /** Starts a tenant's counter from what it has when it has none yet (idempotent under races). */
  async seedCount(id: ObjectId, field: CountedResource, count: number): Promise<void> {
    await this.tenants.updateOne({ _id: id, [field]: { $exists: false } }, { $set: { [field]: count } });
  }

  /** Takes one slot: one conditional increment (`max` null: no limit, only counted). False when full. */
  async reserve(id: ObjectId, field: CountedResource, max: number | null): Promise<boolean> {
    const filter: Record<string, unknown> = { _id: id };
    if (max !== null) filter[field] = { $lt: max };
    const result = await this.tenants.updateOne(filter, { $inc: { [field]: 1 } });
    return result.modifiedCount === 1;
  }

  async release(id: ObjectId, field: CountedResource): Promise<void> {
    await this.tenants.updateOne({ _id: id, [field]: { $gt: 0 } }, { $inc: { [field]: -1 } });
  }

  /** Sets a counter outright (a tenant moved into a partner starts from what it has). */
  async setCount(id: ObjectId, field: CountedResource, count: number): Promise<void> {
    await this.tenants.updateOne({ _id: id }, { $set: { [field]: count } });
  }

  /** Ids of the tenants of a partner (a partner admin's reach). */
  async idsOfPartner(partnerId: string): Promise<ObjectId[]> {
    const docs = await this.tenants.find({ partner_id: partnerId, deleted_at: null }, { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id);
  }

  /** The active ones among these tenants, by name. */
  listActiveByIds(ids: ObjectId[]): Promise<TenantDoc[]> {
    return this.tenants.find({ _id: { $in: ids }, status: 'active', deleted_at: null, partner_suspended: { $ne: true } }).sort({ name: 1 }).toArray();
  }

  /** Marks every tenant of a partner as closed by its partner's suspension, or open again. */
  async setPartnerSuspended(partnerId: string, suspended: boolean, now: Date): Promise<void> {
    await this.tenants.updateMany({ partner_id: partnerId, deleted_at: null }, { $set: { partner_suspended: suspended, updated_at: now } });
  }

  /** The same for one tenant, if it still belongs to that partner (null: to none). */
  async setPartnerSuspendedOne(id: ObjectId, partnerId: string | null, suspended: boolean, now: Date): Promise<void> {
    await this.tenants.updateOne({ _id: id, partner_id: partnerId }, { $set: { partner_suspended: suspended, updated_at: now } });
  }
}
