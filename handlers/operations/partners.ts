import type { TagHandlers } from '../core/operation-types.ts';
import type { AdminAccess } from '../domain/admin/admin-access.ts';
import type { PartnerAdmin } from '../domain/admin/partner-admin.ts';

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;
const int = (raw: unknown, fallback: number): number => (raw === undefined || raw === null ? fallback : Number(raw));

/** Partners: the guard, then one PartnerAdmin call (which refuses all but platform admins). */
export function partnersHandlers({ adminAccess, partnerAdmin }: { adminAccess: AdminAccess; partnerAdmin: PartnerAdmin }): TagHandlers<'Partners'> {
  return {
    listPartners: async (ctx) => {
      const actor = await adminAccess.require(ctx.principal, 'read');
      const q = ctx.query;
      return { status: 200, body: await partnerAdmin.list(actor, { page: int(q.page, 1), perPage: int(q.per_page, 20), search: orUndefined(q.search), status: orUndefined(q.status) }) };
    },
    createPartner: async (ctx) => ({ status: 201, body: await partnerAdmin.create(await adminAccess.require(ctx.principal, 'write'), ctx.body, ctx) }),
    getPartner: async (ctx) => ({ status: 200, body: await partnerAdmin.get(await adminAccess.require(ctx.principal, 'read'), ctx.params.partner_id) }),
    updatePartner: async (ctx) => ({ status: 200, body: await partnerAdmin.update(await adminAccess.require(ctx.principal, 'write'), ctx.params.partner_id, ctx.body, ctx) }),
    deletePartner: async (ctx) => {
      await partnerAdmin.remove(await adminAccess.require(ctx.principal, 'write'), ctx.params.partner_id, ctx);
      return { status: 204, body: undefined };
    },
  };
}
