import type { OperationHandlers } from '../core/operation-types.ts';
import { accountSecurityHandlers } from './account-security.ts';
import { adminAuthHandlers } from './admin-auth.ts';
import { applicationsHandlers } from './applications.ts';
import { authorizedAppsHandlers } from './authorized-apps.ts';
import { authenticationHandlers } from './authentication.ts';
import { discoveryHandlers } from './discovery.ts';
import { portalAuthHandlers } from './portal-auth.ts';
import { profileHandlers } from './profile.ts';
import { usersAdminHandlers } from './users-admin.ts';
import { partnersHandlers } from './partners.ts';
import { tenantsHandlers } from './tenants.ts';
import { platformSettingsHandlers } from './platform-settings.ts';
import { sessionsHandlers } from './sessions-admin.ts';
import { auditHandlers } from './audit-admin.ts';

/** What the operations need from the domain: the union of what each tag module declares. */
export type OperationDependencies = Parameters<typeof profileHandlers>[0] &
  Parameters<typeof authenticationHandlers>[0] &
  Parameters<typeof portalAuthHandlers>[0] &
  Parameters<typeof discoveryHandlers>[0] &
  Parameters<typeof accountSecurityHandlers>[0] &
  Parameters<typeof adminAuthHandlers>[0] &
  Parameters<typeof applicationsHandlers>[0] &
  Parameters<typeof authorizedAppsHandlers>[0] &
  Parameters<typeof usersAdminHandlers>[0] &
  Parameters<typeof partnersHandlers>[0] &
  Parameters<typeof tenantsHandlers>[0] &
  Parameters<typeof platformSettingsHandlers>[0] &
  Parameters<typeof sessionsHandlers>[0] &
  Parameters<typeof auditHandlers>[0];

/** The operation map: one module per spec tag; a missing or extra operationId fails to compile. */
export function operationHandlers(deps: OperationDependencies): OperationHandlers {
  return {
    ...profileHandlers(deps),
    ...authenticationHandlers(deps),
    ...portalAuthHandlers(deps),
    ...discoveryHandlers(deps),
    ...accountSecurityHandlers(deps),
    ...adminAuthHandlers(deps),
    ...applicationsHandlers(deps),
    ...authorizedAppsHandlers(deps),
    ...usersAdminHandlers(deps),
    ...partnersHandlers(deps),
    ...tenantsHandlers(deps),
    ...platformSettingsHandlers(deps),
    ...sessionsHandlers(deps),
    ...auditHandlers(deps),
  } satisfies OperationHandlers;
}
