import { requireUser } from '../core/request-context.ts';
import type { TagHandlers } from '../core/operation-types.ts';
import { ApiError } from '../core/errors.ts';
import type { PortalAuth } from '../domain/login/portal-auth.ts';

/** Portal Auth: thin adapters from the contract to the PortalAuth domain service. */
export function portalAuthHandlers({ portalAuth }: { portalAuth: PortalAuth }): TagHandlers<'Portal Auth'> {
  return {
    identifyUser: async (ctx) => ({ status: 200, body: await portalAuth.identify(ctx.body.email, ctx) }),

    authenticateUser: async (ctx) => {
      const outcome = await portalAuth.authenticate(
        { flowToken: ctx.body.flow_token, tenantId: ctx.body.tenant_id, password: ctx.body.password },
        ctx,
      );
      if (outcome.status === 'MFA_REQUIRED') {
        return {
          status: 200,
          body: { status: 'MFA_REQUIRED', access_token: null, refresh_token: null, user: null, mfa_token: outcome.mfa_token, user_id: outcome.user_id, available_methods: outcome.available_methods },
        };
      }
      return {
        status: 200,
        body: { status: 'SUCCESS', access_token: outcome.access_token, refresh_token: outcome.refresh_token, user: outcome.user, mfa_token: null, user_id: null, available_methods: null },
      };
    },

    portalLogin: async (ctx) => {
      const outcome = await portalAuth.login({ email: ctx.body.email, password: ctx.body.password, tenantId: ctx.body.tenant_id }, ctx);
      // This response has no room for an MFA challenge; MFA users must use the two-step flow.
      if (outcome.status === 'MFA_REQUIRED') throw new ApiError('mfaRequiredUseTwoStep');
      return { status: 200, body: { access_token: outcome.access_token, refresh_token: outcome.refresh_token, user: outcome.user } };
    },

    portalMfaVerify: async (ctx) => ({
      status: 200,
      body: await portalAuth.verifyMfa({ mfaToken: ctx.body.mfa_token, userId: ctx.body.user_id, method: ctx.body.method, code: ctx.body.code }, ctx),
    }),

    portalRefresh: async (ctx) => {
      const { access_token, refresh_token } = await portalAuth.refresh(ctx.body.refresh_token);
      return { status: 200, body: { access_token, refresh_token } };
    },

    portalLogout: async (ctx) => {
      await portalAuth.logout(requireUser(ctx.principal), ctx);
      return { status: 200, body: { message: 'Logged out.' } };
    },
  };
}
