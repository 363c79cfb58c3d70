import type { Collection, Filter, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export type ApplicationType = 'WEB' | 'SERVICE' | 'SPA' | 'NATIVE';
export type ApplicationScope = 'GLOBAL' | 'PARTNER' | 'TENANT';
export type ApplicationStatus = 'active' | 'suspended';
export type IdTokenAlg = 'RS256' | 'ES256';

export interface ApplicationDoc {
  /** Public id, `app_…`. */
  _id: string;
  name: string;
  description: string | null;
  application_type: ApplicationType;
  /** Fixed at creation. */
  scope: ApplicationScope;
  /** The owning tenant of a TENANT app; null otherwise. */
  tenant_id: ObjectId | null;
  /** The owning partner of a PARTNER app (and the partner of a TENANT app's tenant, when known). */
  partner_id: string | null;
  client_id: string;
  /** SHA-256 of the secret (it has 256 bits of entropy); null for public clients. */
  client_secret_hash: string | null;
  client_secret_created_at: Date | null;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  allowed_origins: string[];
  allowed_scopes: string[];
  /** Access token lifetime in seconds. */
  token_lifetime: number;
  /** First-party apps skip the consent page. */
  skip_consent: boolean;
  id_token_signed_response_alg: IdTokenAlg;
  status: ApplicationStatus;
  created_at: Date;
  updated_at: Date;
  /** Soft delete: the app is gone for every purpose but the audit trail. */
  deleted_at: Date | null;
}

/** `applications`: one document per OAuth client. */
export const applicationsCollection = defineCollection<ApplicationDoc>({
  name: 'applications',
  indexes: [
    { key: { client_id: 1 }, name: 'client_id_unique', unique: true },
    { key: { tenant_id: 1, created_at: 1 }, name: 'tenant_created' },
  ],
});

/** Fields an administrator may change after creation (scope, type and owner are fixed). */
export type ApplicationChanges = Partial<Pick<ApplicationDoc,
  'name' | 'description' | 'redirect_uris' | 'post_logout_redirect_uris' | 'allowed_origins' | 'allowed_scopes' |
  'token_lifetime' | 'skip_consent' | 'id_token_signed_response_alg' | 'status'>>;

export interface ApplicationQuery {
  /**
   * The caller's reach: GLOBAL apps, PARTNER apps of these partners and TENANT apps of these
   * tenants; undefined: everything.
   */
  visibleTo?: { partnerIds: string[]; tenantIds: ObjectId[] };
  tenantId?: ObjectId;
  /** A partner's apps: its PARTNER apps and the TENANT apps of its tenants. */
  partner?: { partnerId: string; tenantIds: ObjectId[] };
  scope?: ApplicationScope;
  applicationType?: ApplicationType;
  /** Case-insensitive substring of the name or the client_id. */
  search?: string;
}

const live = { deleted_at: null } as const;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Queries and conditional updates on `applications`. */
export class ApplicationStore {
  constructor(private readonly applications: Collection<ApplicationDoc>) {}

  /** False when the client_id is taken (ids are random, so practically never). */
  async insert(doc: ApplicationDoc): Promise<boolean> {
    try {
      await this.applications.insertOne(doc);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** A live (not deleted) application by its client_id. */
  findByClientId(clientId: string): Promise<ApplicationDoc | null> {
    return this.applications.findOne({ client_id: clientId, ...live });
  }

  findById(id: string): Promise<ApplicationDoc | null> {
    return this.applications.findOne({ _id: id, ...live });
  }

  private filter(query: ApplicationQuery): Filter<ApplicationDoc> {
    const clauses: Filter<ApplicationDoc>[] = [live];
    if (query.visibleTo) {
      clauses.push({
        $or: [
          { scope: 'GLOBAL' },
          { scope: 'PARTNER', partner_id: { $in: query.visibleTo.partnerIds } },
          { scope: 'TENANT', tenant_id: { $in: query.visibleTo.tenantIds } },
        ],
      });
    }
    if (query.tenantId) clauses.push({ tenant_id: query.tenantId });
    if (query.partner) {
      clauses.push({ $or: [{ scope: 'PARTNER', partner_id: query.partner.partnerId }, { scope: 'TENANT', tenant_id: { $in: query.partner.tenantIds } }] });
    }
    if (query.scope) clauses.push({ scope: query.scope });
    if (query.applicationType) clauses.push({ application_type: query.applicationType });
    if (query.search) {
      const pattern = { $regex: escapeRegex(query.search), $options: 'i' };
      clauses.push({ $or: [{ name: pattern }, { client_id: pattern }] });
    }
    return clauses.length === 1 ? live : { $and: clauses };
  }

  async list(query: ApplicationQuery, page: { skip: number; limit: number }): Promise<{ items: ApplicationDoc[]; total: number }> {
    const filter = this.filter(query);
    const [items, total] = await Promise.all([
      this.applications.find(filter).sort({ created_at: 1, _id: 1 }).skip(page.skip).limit(page.limit).toArray(),
      this.applications.countDocuments(filter),
    ]);
    return { items, total };
  }

  /** The changed document, or null when no live application has this id. */
  update(id: string, changes: ApplicationChanges, now: Date): Promise<ApplicationDoc | null> {
    return this.applications.findOneAndUpdate(
      { _id: id, ...live },
      { $set: { ...changes, updated_at: now } },
      { returnDocument: 'after' },
    );
  }

  /** Replaces the secret hash of a live confidential app; the old secret stops working at once. */
  replaceSecret(id: string, secretHash: string, now: Date): Promise<ApplicationDoc | null> {
    return this.applications.findOneAndUpdate(
      { _id: id, ...live, client_secret_hash: { $ne: null } },
      { $set: { client_secret_hash: secretHash, client_secret_created_at: now, updated_at: now } },
      { returnDocument: 'after' },
    );
  }

  /** Soft delete; false when there was no live application with this id. */
  async softDelete(id: string, now: Date): Promise<boolean> {
    const result = await this.applications.updateOne({ _id: id, ...live }, { $set: { deleted_at: now, status: 'suspended', updated_at: now } });
    return result.modifiedCount === 1;
  }

  /** TENANT applications of a tenant that are not deleted (a partner's per-tenant limit counts them). */
  countInTenant(tenantId: ObjectId): Promise<number> {
    return this.applications.countDocuments({ tenant_id: tenantId, scope: 'TENANT', ...live });
  }
}
