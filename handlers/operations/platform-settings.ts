import type { TagHandlers } from '../core/operation-types.ts';
import type { AdminAccess } from '../domain/admin/admin-access.ts';
import type { PlatformSettingsAdmin } from '../domain/admin/platform-settings-admin.ts';

/** Platform Settings: the guard, then one PlatformSettingsAdmin call (super admins only). */
export function platformSettingsHandlers({ adminAccess, platformSettingsAdmin }: { adminAccess: AdminAccess; platformSettingsAdmin: PlatformSettingsAdmin }): TagHandlers<'Platform Settings'> {
  return {
    getPlatformSettings: async (ctx) => ({ status: 200, body: await platformSettingsAdmin.get(await adminAccess.require(ctx.principal, 'read')) }),
    updatePlatformSettings: async (ctx) => ({ status: 200, body: await platformSettingsAdmin.update(await adminAccess.require(ctx.principal, 'write'), ctx.body, ctx) }),
  };
}
