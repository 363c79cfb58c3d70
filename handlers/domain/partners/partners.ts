import { randomInt } from 'node:crypto';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import { partnerIdPattern } from '../../core/public-ids.ts';
import type { PartnerChanges, PartnerDoc, PartnerQuery, PartnerStatus, PartnerStore } from '../../store/partners.ts';

/** The same rule as tenant slugs (lower-case letters, digits, inner dashes). */
const slugPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const base62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `prt_` and 16 base62 characters from the CSPRNG (~95 bits). */
export function newPartnerId(): string {
  let id = 'prt_';
  for (let i = 0; i < 16; i++) id += base62[randomInt(62)];
  return id;
}

export interface NewPartner {
  name: string;
  slug: string;
  status?: PartnerStatus;
  contact_email?: string | null;
  max_tenants?: number | null;
  max_users_per_tenant?: number | null;
  max_applications_per_tenant?: number | null;
}

export const partnerStatuses = ['active', 'suspended'] as const;

function checkFields(input: Partial<NewPartner>): void {
  if (input.slug !== undefined && !slugPattern.test(input.slug)) throw new InvalidInput({ field: 'slug', reason: 'lower-case letters, digits and dashes, not starting or ending with a dash' });
  if (input.name !== undefined && input.name.trim() === '') throw new InvalidInput({ field: 'name', reason: 'must not be blank' });
  if (input.status !== undefined && !(partnerStatuses as readonly string[]).includes(input.status)) throw new InvalidInput({ field: 'status', reason: 'must be one of active, suspended' });
  for (const key of ['max_tenants', 'max_users_per_tenant', 'max_applications_per_tenant'] as const) {
    const v = input[key];
    if (v !== undefined && v !== null && (!Number.isInteger(v) || v < 0)) throw new InvalidInput({ field: key, reason: 'must be a non-negative integer or null' });
  }
}

/** Partners: create, read, change and soft-delete; slugs unique (the index decides races). */
export class Partners {
  constructor(private readonly store: PartnerStore, private readonly clock: Clock) {}

  async create(input: NewPartner): Promise<PartnerDoc> {
    checkFields(input);
    const now = this.clock.now();
    const partner: PartnerDoc = {
      _id: newPartnerId(),
      name: input.name.trim(),
      slug: input.slug,
      status: input.status ?? 'active',
      contact_email: input.contact_email ?? null,
      max_tenants: input.max_tenants ?? null,
      max_users_per_tenant: input.max_users_per_tenant ?? null,
      max_applications_per_tenant: input.max_applications_per_tenant ?? null,
      tenant_count: 0,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    if (!(await this.store.insert(partner))) throw new ApiError('partnerSlugTaken');
    return partner;
  }

  /** A live partner, or null (also for ids that cannot be partner ids). */
  get(id: string): Promise<PartnerDoc | null> {
    return partnerIdPattern.test(id) ? this.store.findLive(id) : Promise.resolve(null);
  }

  list(query: PartnerQuery, page: { skip: number; limit: number }) {
    return this.store.list(query, page);
  }

  async update(id: string, changes: PartnerChanges): Promise<PartnerDoc> {
    checkFields(changes);
    const normalised = { ...changes, ...(changes.name !== undefined ? { name: changes.name.trim() } : {}) };
    const updated = await this.store.update(id, normalised, this.clock.now());
    if (updated === 'duplicate') throw new ApiError('partnerSlugTaken');
    if (!updated) throw new ApiError('notFound');
    return updated;
  }

  async remove(id: string): Promise<void> {
    const outcome = await this.store.softDelete(id, this.clock.now());
    if (outcome === 'missing') throw new ApiError('notFound');
    if (outcome === 'has_tenants') throw new ApiError('partnerHasTenants');
  }
}
