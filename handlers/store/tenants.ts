import type { Collection, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export type TenantStatus = 'active' | 'disabled';

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
  created_at: Date;
  updated_at: Date;
}

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

  /** Ids of the tenants of a partner (a partner admin's reach). */
  async idsOfPartner(partnerId: string): Promise<ObjectId[]> {
    const docs = await this.tenants.find({ partner_id: partnerId }, { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id);
  }

  /** The active ones among these tenants, by name. */
  listActiveByIds(ids: ObjectId[]): Promise<TenantDoc[]> {
    return this.tenants.find({ _id: { $in: ids }, status: 'active' }).sort({ name: 1 }).toArray();
  }
}
