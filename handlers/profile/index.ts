import type { Services } from '../domain/services.ts';
import type { OperationHandlers } from '../server/operation-types.ts';

type ProfileHandlers = Pick<OperationHandlers, 'getProfile' | 'updateProfile' | 'changePassword' | 'requestEmailVerification'>;

/** /api/v1/me…: the bearer's own account. */
export function profileHandlers(services: Services): ProfileHandlers {
  const { profile, registration } = services;
  return {
    getProfile: async (ctx) => ({ status: 200, body: await profile.get(ctx.principal!) }),
    updateProfile: async (ctx) => ({ status: 200, body: await profile.update(ctx.principal!, ctx.body) }),
    changePassword: async (ctx) => ({
      status: 200,
      body: await profile.changePassword(ctx.principal!, { currentPassword: ctx.body.current_password, newPassword: ctx.body.new_password }, ctx),
    }),
    requestEmailVerification: async (ctx) => {
      const { user } = await profile.load(ctx.principal!);
      return { status: 200, body: await registration.resendVerification(user) };
    },
  };
}
