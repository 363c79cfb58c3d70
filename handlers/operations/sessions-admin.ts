import { requireUser } from '../core/request-context.ts';
import type { TagHandlers } from '../core/operation-types.ts';
import type { AdminAccess } from '../domain/admin/admin-access.ts';
import type { SessionAdmin } from '../domain/admin/session-admin.ts';
import type { MySessions } from '../domain/sessions/my-sessions.ts';

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;
/** Query integers arrive as validated text (the schema bounds them); absent → the default. */
const int = (raw: unknown, fallback: number): number => (raw === undefined || raw === null ? fallback : Number(raw));

/** Sessions: the admin group (guard, then one SessionAdmin call) and the user's own under /api/v1/me/sessions. */
export function sessionsHandlers({ adminAccess, sessionAdmin, mySessions }: { adminAccess: AdminAccess; sessionAdmin: SessionAdmin; mySessions: MySessions }): TagHandlers<'Sessions'> {
  return {
    listSessions: async (ctx) => {
      const actor = await adminAccess.require(ctx.principal, 'read');
      const q = ctx.query;
      return {
        status: 200,
        body: await sessionAdmin.list(actor, {
          page: int(q.page, 1),
          perPage: int(q.per_page, 20),
          userId: orUndefined(q.user_id),
          tenantId: orUndefined(q.tenant_id),
          partnerId: orUndefined(q.partner_id),
        }),
      };
    },

    getSession: async (ctx) => ({ status: 200, body: await sessionAdmin.get(await adminAccess.require(ctx.principal, 'read'), ctx.params.session_id) }),

    revokeSession: async (ctx) => {
      await sessionAdmin.revoke(await adminAccess.require(ctx.principal, 'write'), ctx.params.session_id, ctx);
      return { status: 204, body: undefined };
    },

    revokeAllSessions: async (ctx) => {
      const actor = await adminAccess.require(ctx.principal, 'write');
      return { status: 200, body: await sessionAdmin.revokeAll(actor, { user_id: ctx.body.user_id, tenant_id: ctx.body.tenant_id }, ctx) };
    },

    listMySessions: async (ctx) => ({ status: 200, body: await mySessions.list(requireUser(ctx.principal)) }),

    revokeMySession: async (ctx) => {
      await mySessions.revoke(requireUser(ctx.principal), ctx.params.session_id, ctx);
      return { status: 204, body: undefined };
    },
  };
}
