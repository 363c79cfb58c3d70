import type { TagHandlers } from '../core/operation-types.ts';
import type { AdminAccess } from '../domain/admin/admin-access.ts';
import type { TenantAdmin } from '../domain/admin/tenant-admin.ts';

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;
const int = (raw: unknown, fallback: number): number => (raw === undefined || raw === null ? fallback : Number(raw));

/** Tenants: the guard, then one TenantAdmin call (reach decides what is seen and changed). */
export function tenantsHandlers({ adminAccess, tenantAdmin }: { adminAccess: AdminAccess; tenantAdmin: TenantAdmin }): TagHandlers<'Tenants'> {
  return {
    listTenants: async (ctx) => {
      const actor = await adminAccess.require(ctx.principal, 'read');
      const q = ctx.query;
      return {
        status: 200,
        body: await tenantAdmin.list(actor, { page: int(q.page, 1), perPage: int(q.per_page, 20), search: orUndefined(q.search), status: orUndefined(q.status), partnerId: orUndefined(q.partner_id) }),
      };
    },
    createTenant: async (ctx) => ({ status: 201, body: await tenantAdmin.create(await adminAccess.require(ctx.principal, 'write'), ctx.body, ctx) }),
    getTenant: async (ctx) => ({ status: 200, body: await tenantAdmin.get(await adminAccess.require(ctx.principal, 'read'), ctx.params.tenant_id) }),
    updateTenant: async (ctx) => ({ status: 200, body: await tenantAdmin.update(await adminAccess.require(ctx.principal, 'write'), ctx.params.tenant_id, ctx.body, ctx) }),
    deleteTenant: async (ctx) => {
      await tenantAdmin.remove(await adminAccess.require(ctx.principal, 'write'), ctx.params.tenant_id, ctx);
      return { status: 204, body: undefined };
    },
  };
}
