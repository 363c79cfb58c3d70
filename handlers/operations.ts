import type { Services } from './domain/services.ts';
import type { OperationHandlers } from './server/operation-types.ts';
import { portalAuthHandlers } from './portal-auth/index.ts';
import { authenticationHandlers } from './authentication/index.ts';
import { profileHandlers } from './profile/index.ts';
import { discoveryHandlers } from './discovery/index.ts';
import { accountSecurityHandlers } from './account-security/index.ts';

/** The operation map: every operationId in the spec must be here, or this fails to compile. */
export function operationHandlers(services: Services): OperationHandlers {
  return {
    ...profileHandlers(services),
    ...authenticationHandlers(services),
    ...portalAuthHandlers(services),
    ...discoveryHandlers(services),
    ...accountSecurityHandlers(services),
  } satisfies OperationHandlers;
}
