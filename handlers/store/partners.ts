import type { Collection } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export type PartnerStatus = 'active' | 'suspended';

/** A partner (reseller, MSP): the outermost ownership boundary, with its resource limits (null: unlimited). */
export interface PartnerDoc {
  /** `prt_` + 16 base62: the public id itself. */
  _id: string;
  name: string;
  slug: string;
  status: PartnerStatus;
  contact_email: string | null;
  max_tenants: number | null;
  max_users_per_tenant: number | null;
  max_applications_per_tenant: number | null;
  /** Tenants (not deleted) that belong to the partner; reserved before a tenant is written. */
  tenant_count: number;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export const partnersCollection = defineCollection<PartnerDoc>({
  name: 'partners',
  indexes: [{ key: { slug: 1 }, name: 'slug_unique', unique: true }],
});

export type PartnerChanges = Partial<Pick<PartnerDoc, 'name' | 'slug' | 'status' | 'contact_email' | 'max_tenants' | 'max_users_per_tenant' | 'max_applications_per_tenant'>>;

export interface PartnerQuery {
  search?: string;
  status?: PartnerStatus;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Queries and atomic updates on `partners`. */
export class PartnerStore {
  constructor(private readonly partners: Collection<PartnerDoc>) {}

  /** False when the slug (or, by a freak, the id) is taken. */
  async insert(partner: PartnerDoc): Promise<boolean> {
    try {
      await this.partners.insertOne(partner);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  findLive(id: string): Promise<PartnerDoc | null> {
    return this.partners.findOne({ _id: id, deleted_at: null });
  }

  async list(query: PartnerQuery, page: { skip: number; limit: number }): Promise<{ items: PartnerDoc[]; total: number }> {
    const filter: Record<string, unknown> = { deleted_at: null };
    if (query.status) filter.status = query.status;
    if (query.search) {
      const re = new RegExp(escapeRegex(query.search), 'i');
      filter.$or = [{ name: re }, { slug: re }];
    }
    const [items, total] = await Promise.all([
      this.partners.find(filter).sort({ created_at: 1, _id: 1 }).skip(page.skip).limit(page.limit).toArray(),
      this.partners.countDocuments(filter),
    ]);
    return { items, total };
  }

  /** The partner after the change; null when it is gone; 'duplicate' when the new slug is taken. */
  async update(id: string, changes: PartnerChanges, now: Date): Promise<PartnerDoc | null | 'duplicate'> {
    try {
      return await this.partners.findOneAndUpdate({ _id: id, deleted_at: null }, { $set: { ...changes, updated_at: now } }, { returnDocument: 'after' });
    } catch (error) {
      if (isDuplicateKey(error)) return 'duplicate';
      throw error;
    }
  }

  /** Soft delete, only while the partner has no tenants: 'deleted', 'has_tenants' or 'missing'. */
  async softDelete(id: string, now: Date): Promise<'deleted' | 'has_tenants' | 'missing'> {
    const result = await this.partners.updateOne({ _id: id, deleted_at: null, tenant_count: { $lte: 0 } }, { $set: { deleted_at: now, updated_at: now } });
    if (result.modifiedCount === 1) return 'deleted';
    return (await this.findLive(id)) ? 'has_tenants' : 'missing';
  }

  /**
   * Takes one tenant slot: one conditional increment, so parallel creates never pass the limit.
   * `max` is the limit the caller read; a limit changed meanwhile fails the filter (read again).
   * Null when the partner is missing, not active, full, or its limit changed.
   */
  reserveTenant(id: string, max: number | null, now: Date): Promise<PartnerDoc | null> {
    const filter: Record<string, unknown> = { _id: id, deleted_at: null, status: 'active', max_tenants: max };
    if (max !== null) filter.tenant_count = { $lt: max };
    return this.partners.findOneAndUpdate(filter, { $inc: { tenant_count: 1 }, $set: { updated_at: now } }, { returnDocument: 'after' });
  }

  async releaseTenant(id: string, now: Date): Promise<void> {
    await this.partners.updateOne({ _id: id, tenant_count: { $gt: 0 } }, { $inc: { tenant_count: -1 }, $set: { updated_at: now } });
  }
}
