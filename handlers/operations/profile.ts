import { requireUser } from '../core/request-context.ts';
import type { TagHandlers } from '../core/operation-types.ts';
import type { Profile } from '../domain/profile/profile.ts';
import type { Registration } from '../domain/registration/registration.ts';

/** Profile: /api/v1/me…, the bearer's own account. */
export function profileHandlers({ profile, registration }: { profile: Profile; registration: Registration }): TagHandlers<'Profile'> {
  return {
    getProfile: async (ctx) => ({ status: 200, body: await profile.get(requireUser(ctx.principal)) }),
    updateProfile: async (ctx) => {
      // Only the six documented fields: extra keys in the body are ignored, never stored.
      const { first_name, last_name, display_name, phone, locale, timezone } = ctx.body;
      return { status: 200, body: await profile.update(requireUser(ctx.principal), { first_name, last_name, display_name, phone, locale, timezone }) };
    },
    changePassword: async (ctx) => ({
      status: 200,
      body: await profile.changePassword(requireUser(ctx.principal), { currentPassword: ctx.body.current_password, newPassword: ctx.body.new_password }, ctx),
    }),
    requestEmailVerification: async (ctx) => {
      const { user } = await profile.load(requireUser(ctx.principal));
      return { status: 200, body: await registration.resendVerification(user) };
    },
  };
}
