import { ApiError } from '../../core/errors.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { AdminRoleName, UserDoc } from '../../store/users.ts';
import type { AdminTokenClaims } from '../tokens/access-tokens.ts';
import { tenantPublicId, userPublicId } from '../../core/public-ids.ts';

export const adminRoleNames: readonly AdminRoleName[] = ['super_admin', 'partner_admin', 'tenant_admin'];

/** The claims an admin's access token carries (docs §5): its role, and tenant or partner where they apply. */
export function adminClaims(user: UserDoc): AdminTokenClaims | undefined {
  const admin = user.admin;
  if (!admin) return undefined;
  switch (admin.role) {
    case 'super_admin': return { role: 'super_admin' };
    case 'partner_admin': return { role: 'partner_admin', ...(admin.partner_id ? { partner_id: admin.partner_id } : {}) };
    case 'tenant_admin': return { role: 'tenant_admin', tenant_id: tenantPublicId(user.tenant_id) };
  }
}

/** How the admin API shows an administrator (login, refresh and /admin/auth/me). */
export function adminUserView(user: UserDoc, tenant: TenantDoc) {
  const role = user.admin?.role;
  if (!role) throw new ApiError('adminRequired', { internal: 'not an admin' });
  return {
    id: userPublicId(user._id),
    email: user.email,
    first_name: user.first_name,
    last_name: user.last_name,
    display_name: user.display_name,
    email_verified: user.email_verified,
    role,
    tenant_id: tenantPublicId(tenant._id),
    tenant_slug: tenant.slug,
    partner_id: user.admin?.role === 'partner_admin' ? user.admin.partner_id : null,
  };
}

export type AdminUserView = ReturnType<typeof adminUserView>;
