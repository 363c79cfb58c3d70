import type { ObjectId } from 'mongodb';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import type { PartnerDoc, PartnerStore } from '../../store/partners.ts';
import type { CountedResource, TenantDoc, TenantStore } from '../../store/tenants.ts';

/** How many of a resource a tenant has now (to start its counter). */
type Counter = (tenantId: ObjectId) => Promise<number>;

/**
 * A partner's limits (docs §2: `max_tenants`, `max_users_per_tenant`, `max_applications_per_tenant`),
 * held under parallel creates: a slot is taken with one conditional increment before the resource
 * is written (`tenant_count < max_tenants` on the partner; `user_count` / `application_count`
 * below the partner's per-tenant limit on the tenant), and given back when the write fails or
 * the resource is deleted. Tenants without a partner are neither limited nor counted.
 */
export class PartnerLimits {
  constructor(
    private readonly deps: { partners: PartnerStore; tenants: TenantStore; countUsers: Counter; countApplications: Counter },
    private readonly clock: Clock,
  ) {}

  /** Takes a tenant slot of the partner; refuses an unknown, deleted or suspended partner (422) and a full one (409). */
  async reserveTenant(partnerId: string): Promise<PartnerDoc> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const partner = await this.deps.partners.findLive(partnerId);
      if (!partner) throw new InvalidInput({ field: 'partner_id', reason: 'no partner has this id' });
      if (partner.status !== 'active') throw new InvalidInput({ field: 'partner_id', reason: 'the partner is suspended' });
      if (partner.max_tenants !== null && partner.tenant_count >= partner.max_tenants) throw new ApiError('tenantLimitReached');
      const reserved = await this.deps.partners.reserveTenant(partnerId, partner.max_tenants, this.clock.now());
      if (reserved) return reserved;
      // Full by now, or the partner changed meanwhile: read it again.
    }
    throw new ApiError('tenantLimitReached', { internal: 'partner kept changing while reserving' });
  }

  async releaseTenant(partnerId: string): Promise<void> {
    await this.deps.partners.releaseTenant(partnerId, this.clock.now());
  }

  /** Takes a user slot of the tenant; true when one was taken (release it if the insert fails). */
  reserveUser(tenant: Pick<TenantDoc, '_id' | 'partner_id'>): Promise<boolean> {
    return this.reserve(tenant, 'user_count', 'max_users_per_tenant', this.deps.countUsers, 'userLimitReached');
  }

  async releaseUser(tenant: Pick<TenantDoc, '_id' | 'partner_id'>): Promise<void> {
    if (tenant.partner_id) await this.deps.tenants.release(tenant._id, 'user_count');
  }

  reserveApplication(tenant: Pick<TenantDoc, '_id' | 'partner_id'>): Promise<boolean> {
    return this.reserve(tenant, 'application_count', 'max_applications_per_tenant', this.deps.countApplications, 'applicationLimitReached');
  }

  async releaseApplication(tenant: Pick<TenantDoc, '_id' | 'partner_id'>): Promise<void> {
    if (tenant.partner_id) await this.deps.tenants.release(tenant._id, 'application_count');
  }

  /** A tenant that joined a partner: its counters start from what it has. */
  async recount(tenantId: ObjectId): Promise<void> {
    await this.deps.tenants.setCount(tenantId, 'user_count', await this.deps.countUsers(tenantId));
    await this.deps.tenants.setCount(tenantId, 'application_count', await this.deps.countApplications(tenantId));
  }

  private async reserve(
    tenant: Pick<TenantDoc, '_id' | 'partner_id'>,
    field: CountedResource,
    limit: 'max_users_per_tenant' | 'max_applications_per_tenant',
    count: Counter,
    refusal: 'userLimitReached' | 'applicationLimitReached',
  ): Promise<boolean> {
    if (!tenant.partner_id) return false;
    const partner = await this.deps.partners.findLive(tenant.partner_id);
    // A partner id without a partner document (set before partners existed): nothing to hold.
    if (!partner) return false;
    // Tenants from before the counters: start from what they have (only the first seed writes).
    await this.deps.tenants.seedCount(tenant._id, field, await count(tenant._id));
    if (!(await this.deps.tenants.reserve(tenant._id, field, partner[limit]))) throw new ApiError(refusal);
    return true;
  }
}
