import type { TagHandlers } from '../core/operation-types.ts';
import type { AdminAccess } from '../domain/admin/admin-access.ts';
import type { UserAdmin } from '../domain/admin/user-admin.ts';

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;
/** Query integers arrive as validated text (the schema bounds them); absent → the default. */
const int = (raw: unknown, fallback: number): number => (raw === undefined || raw === null ? fallback : Number(raw));
const bool = (raw: unknown): boolean => raw === true || raw === 'true';

/** Users: the guard, then one UserAdmin call. */
export function usersAdminHandlers({ adminAccess, userAdmin }: { adminAccess: AdminAccess; userAdmin: UserAdmin }): TagHandlers<'Users'> {
  const read = (ctx: { principal?: Parameters<AdminAccess['require']>[0] }) => adminAccess.require(ctx.principal, 'read');
  const write = (ctx: { principal?: Parameters<AdminAccess['require']>[0] }) => adminAccess.require(ctx.principal, 'write');
  return {
    listUsers: async (ctx) => {
      const q = ctx.query;
      return {
        status: 200,
        body: await userAdmin.list(await read(ctx), {
          page: int(q.page, 1),
          perPage: int(q.per_page, 20),
          search: orUndefined(q.search),
          status: orUndefined(q.status),
          tenantId: orUndefined(q.tenant_id),
          partnerId: orUndefined(q.partner_id),
        }),
      };
    },
    createUser: async (ctx) => ({ status: 201, body: await userAdmin.create(await write(ctx), ctx.body, ctx) }),
    getIdentitySourceMismatches: async (ctx) => ({
      status: 200,
      body: await userAdmin.identitySourceMismatches(await read(ctx), orUndefined(ctx.query.tenant_id), bool(ctx.query.fix)),
    }),
    getUser: async (ctx) => ({ status: 200, body: await userAdmin.get(await read(ctx), ctx.params.user_id) }),
    updateUser: async (ctx) => ({ status: 200, body: await userAdmin.update(await write(ctx), ctx.params.user_id, ctx.body, ctx) }),
    deleteUser: async (ctx) => {
      await userAdmin.remove(await write(ctx), ctx.params.user_id, ctx);
      return { status: 204, body: undefined };
    },
    suspendUser: async (ctx) => ({ status: 200, body: await userAdmin.suspend(await write(ctx), ctx.params.user_id, ctx) }),
    activateUser: async (ctx) => ({ status: 200, body: await userAdmin.activate(await write(ctx), ctx.params.user_id, ctx) }),
    resetUserPassword: async (ctx) => ({ status: 200, body: await userAdmin.resetPassword(await write(ctx), ctx.params.user_id, ctx.body, ctx) }),
    unlockUser: async (ctx) => ({ status: 200, body: await userAdmin.unlock(await write(ctx), ctx.params.user_id, ctx) }),
    resetUserMfa: async (ctx) => ({ status: 200, body: await userAdmin.resetMfa(await write(ctx), ctx.params.user_id, ctx) }),
    listUserSessions: async (ctx) => ({
      status: 200,
      body: await userAdmin.sessions(await read(ctx), ctx.params.user_id, int(ctx.query.page, 1), int(ctx.query.per_page, 20)),
    }),
    revokeUserSessions: async (ctx) => ({ status: 200, body: await userAdmin.revokeSessions(await write(ctx), ctx.params.user_id, ctx) }),
    listUserSecurityEvents: async (ctx) => ({
      status: 200,
      body: await userAdmin.securityEvents(await read(ctx), ctx.params.user_id, int(ctx.query.page, 1), int(ctx.query.per_page, 20)),
    }),
    assignUserAdminRole: async (ctx) => ({ status: 200, body: await userAdmin.assignRole(await write(ctx), ctx.params.user_id, ctx.body, ctx) }),
    removeUserAdminRole: async (ctx) => {
      await userAdmin.removeRole(await write(ctx), ctx.params.user_id, ctx);
      return { status: 204, body: undefined };
    },
    getUserMfa: async (ctx) => ({ status: 200, body: await userAdmin.mfa(await read(ctx), ctx.params.user_id) }),
  };
}
