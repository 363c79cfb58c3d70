import type { Logger } from 'pino';
import type { Tenants } from '../tenants/tenants.ts';
import { DuplicateEmailError, normaliseEmail, type Users } from '../users/users.ts';
import type { Clock } from '../../core/clock.ts';
import type { AuditLog } from '../audit/audit-log.ts';

export type BootstrapOutcome = 'created' | 'exists' | 'lost-race';

/**
 * The first platform administrator, as Keycloak bootstraps its admin: when no super admin exists,
 * one is created from SCAIKEY_BOOTSTRAP_ADMIN_EMAIL / _PASSWORD in the platform tenant. It is
 * created once and never overwritten: once any super admin exists, later starts do nothing (a
 * changed password in the environment changes nothing either). Two replicas starting together
 * race on the unique (tenant, email) index: the account and its role are one insert, so exactly
 * one wins and the other sees a duplicate. The password is never logged.
 */
export async function bootstrapAdmin(
  deps: { users: Users; tenants: Tenants; audit: AuditLog; clock: Clock; logger: Logger },
  input: { email: string; password: string },
): Promise<BootstrapOutcome> {
  if (await deps.users.anySuperAdmin()) return 'exists';
  const tenant = await deps.tenants.ensurePlatform();
  const email = normaliseEmail(input.email);
  try {
    const user = await deps.users.create({
      tenant,
      email: input.email,
      password: input.password,
      emailVerified: true,
      admin: { role: 'super_admin', partner_id: null, granted_at: deps.clock.now() },
    });
    await deps.audit.record({ type: 'admin.bootstrap', outcome: 'success', tenantId: tenant._id, userId: user._id, details: { role: 'super_admin' } });
    deps.logger.info({ email, tenant: tenant.slug }, 'bootstrap admin created (super_admin); unset SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD now');
    return 'created';
  } catch (error) {
    // Another replica won, or the address already has a platform account: never overwrite it.
    if (error instanceof DuplicateEmailError) {
      deps.logger.info({ email }, 'bootstrap admin not created: the platform tenant already has this account');
      return 'lost-race';
    }
    throw error;
  }
}
