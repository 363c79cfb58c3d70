import type { TagHandlers } from '../core/operation-types.ts';
import type { AdminAccess } from '../domain/admin/admin-access.ts';
import type { AuditAdmin } from '../domain/admin/audit-admin.ts';

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;
/** Query integers arrive as validated text (the schema bounds them); absent → the default. */
const int = (raw: unknown, fallback: number): number => (raw === undefined || raw === null ? fallback : Number(raw));

/** Audit: reads only (the log is append-only); the guard, then one AuditAdmin call. */
export function auditHandlers({ adminAccess, auditAdmin }: { adminAccess: AdminAccess; auditAdmin: AuditAdmin }): TagHandlers<'Audit'> {
  return {
    listAuditLogs: async (ctx) => {
      const actor = await adminAccess.require(ctx.principal, 'read');
      const q = ctx.query;
      return {
        status: 200,
        body: await auditAdmin.list(actor, {
          page: int(q.page, 1),
          perPage: int(q.per_page, 20),
          tenantId: orUndefined(q.tenant_id),
          partnerId: orUndefined(q.partner_id),
          actorId: orUndefined(q.actor_id),
          actorEmail: orUndefined(q.actor_email),
          action: orUndefined(q.action),
          resourceType: orUndefined(q.resource_type),
          resourceId: orUndefined(q.resource_id),
          result: orUndefined(q.result),
          startTime: orUndefined(q.start_time),
          endTime: orUndefined(q.end_time),
          ipAddress: orUndefined(q.ip_address),
        }),
      };
    },

    listAuditActions: async (ctx) => {
      await adminAccess.require(ctx.principal, 'read');
      return { status: 200, body: auditAdmin.actions() };
    },

    listAuditResourceTypes: async (ctx) => {
      await adminAccess.require(ctx.principal, 'read');
      return { status: 200, body: auditAdmin.resourceTypes() };
    },

    getAuditLog: async (ctx) => ({ status: 200, body: await auditAdmin.get(await adminAccess.require(ctx.principal, 'read'), ctx.params.entry_id) }),
  };
}
