import type { TagHandlers } from '../core/operation-types.ts';
import type { AdminAuth } from '../domain/login/admin-auth.ts';

/** Admin Auth: thin adapters from the contract to the AdminAuth entry point of the sign-in pipeline. */
export function adminAuthHandlers({ adminAuth }: { adminAuth: AdminAuth }): TagHandlers<'Admin Auth'> {
  return {
    adminLogin: async (ctx) => {
      const outcome = await adminAuth.login({ email: ctx.body.email, password: ctx.body.password, tenantId: ctx.body.tenant_id }, ctx);
      if (outcome.status === 'MFA_REQUIRED') {
        return {
          status: 200,
          body: { status: 'MFA_REQUIRED', access_token: null, refresh_token: null, token_type: 'bearer', expires_in: null, user: null, mfa_token: outcome.mfa_token, user_id: outcome.user_id, available_methods: outcome.available_methods },
        };
      }
      return {
        status: 200,
        body: { status: 'SUCCESS', access_token: outcome.access_token, refresh_token: outcome.refresh_token, token_type: 'bearer', expires_in: outcome.expires_in, user: outcome.user, mfa_token: null, user_id: null, available_methods: null },
      };
    },

    adminLogout: async (ctx) => {
      await adminAuth.logout(ctx.principal, ctx);
      return { status: 200, body: { message: 'Logged out.' } };
    },

    adminMe: async (ctx) => ({ status: 200, body: await adminAuth.me(ctx.principal) }),

    adminRefresh: async (ctx) => {
      const { access_token, refresh_token } = await adminAuth.refresh(ctx.body.refresh_token);
      return { status: 200, body: { access_token, refresh_token } };
    },
  };
}
