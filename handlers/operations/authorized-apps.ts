import type { TagHandlers } from '../core/operation-types.ts';
import { requireUser } from '../core/request-context.ts';
import type { AuthorizedApps } from '../domain/oauth/authorized-apps.ts';

/** Authorized Apps: the consents of the signed-in user. */
export function authorizedAppsHandlers({ authorizedApps }: { authorizedApps: AuthorizedApps }): TagHandlers<'Authorized Apps'> {
  return {
    listAuthorizedApps: async (ctx) => ({ status: 200, body: await authorizedApps.list(requireUser(ctx.principal).userId) }),
    revokeAuthorizedApp: async (ctx) => {
      await authorizedApps.revoke(requireUser(ctx.principal), ctx.params.client_id, ctx);
      return { status: 200, body: { message: 'Application access revoked' } };
    },
  };
}
