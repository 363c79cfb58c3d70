import { ApiError } from '../../core/errors.ts';
import type { PartnerChanges, PartnerDoc, PartnerStatus } from '../../store/partners.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { partnerStatuses, type NewPartner, type Partners } from '../partners/partners.ts';
import type { Tenants } from '../tenants/tenants.ts';
import type { AdminActor } from './admin-access.ts';
import { auditedAdminWrite, requirePlatformReach } from './admin-audit.ts';
import type { AdminRequest } from './application-admin.ts';

export function partnerView(p: PartnerDoc) {
  return {
    id: p._id,
    name: p.name,
    slug: p.slug,
    status: p.status,
    contact_email: p.contact_email,
    max_tenants: p.max_tenants,
    max_users_per_tenant: p.max_users_per_tenant,
    max_applications_per_tenant: p.max_applications_per_tenant,
    tenant_count: p.tenant_count,
    created_at: p.created_at.toISOString(),
    updated_at: p.updated_at.toISOString(),
  };
}

export type PartnerView = ReturnType<typeof partnerView>;

export interface PartnerFilters {
  page: number;
  perPage: number;
  search?: string | undefined;
  status?: string | undefined;
}

/** The Partners group (docs §8.6): platform admins only; every write audited, refusals included. */
export class PartnerAdmin {
  constructor(private readonly deps: { partners: Partners; tenants: Tenants; audit: AuditLog }) {}

  async list(actor: AdminActor, filters: PartnerFilters) {
    requirePlatformReach(actor);
    const status = filters.status && (partnerStatuses as readonly string[]).includes(filters.status) ? (filters.status as PartnerStatus) : undefined;
    const query = { ...(filters.search ? { search: filters.search } : {}), ...(status ? { status } : {}) };
    const { items, total } = await this.deps.partners.list(query, { skip: (filters.page - 1) * filters.perPage, limit: filters.perPage });
    return { items: items.map(partnerView), total, page: filters.page, per_page: filters.perPage };
  }

  async get(actor: AdminActor, id: string): Promise<PartnerView> {
    requirePlatformReach(actor);
    return partnerView(await this.found(id));
  }

  create(actor: AdminActor, input: NewPartner, request: AdminRequest): Promise<PartnerView> {
    return auditedAdminWrite(this.deps.audit, actor, request, 'admin.partner.create', { type: 'partner', id: null }, async () => {
      requirePlatformReach(actor);
      const partner = await this.deps.partners.create(input);
      return { result: partnerView(partner), targetId: partner._id };
    });
  }

  update(actor: AdminActor, id: string, changes: PartnerChanges, request: AdminRequest): Promise<PartnerView> {
    return auditedAdminWrite(this.deps.audit, actor, request, 'admin.partner.update', { type: 'partner', id }, async () => {
      requirePlatformReach(actor);
      const before = await this.found(id);
      const updated = await this.deps.partners.update(id, changes);
      // A suspended partner's tenants are closed with it (sign-in, tokens, hosted pages), and open again with it.
      if (changes.status !== undefined && changes.status !== before.status) await this.deps.tenants.followPartnerStatus(id);
      return { result: partnerView(updated), targetId: id, details: { fields: Object.keys(changes) } };
    });
  }

  remove(actor: AdminActor, id: string, request: AdminRequest): Promise<void> {
    return auditedAdminWrite(this.deps.audit, actor, request, 'admin.partner.delete', { type: 'partner', id }, async () => {
      requirePlatformReach(actor);
      await this.found(id);
      await this.deps.partners.remove(id);
      return { result: undefined, targetId: id };
    });
  }

  private async found(id: string): Promise<PartnerDoc> {
    const partner = await this.deps.partners.get(id);
    if (!partner) throw new ApiError('notFound');
    return partner;
  }
}
