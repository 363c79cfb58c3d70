import type { Services } from './domain/services.ts';
import type { OperationHandlers } from './server/operation-types.ts';
import { portalAuthHandlers } from './portal-auth/index.ts';
import { discoveryHandlers } from './discovery/index.ts';

/**
 * The operation map. Operations whose behaviour is not built yet are listed in `pending` and answer
 * 501; everything else must be implemented, which the `satisfies` below enforces.
 */
export const pendingOperations = [
  'getProfile',
  'updateProfile',
  'changePassword',
  'requestEmailVerification',
  'forgotPassword',
  'tenantLogin',
  'sendEmailMfa',
  'verifyMfa',
  'beginWebauthnAuth',
  'passwordForgot',
  'resetPassword',
  'register',
  'verifyEmail',
] as const;

type Pending = (typeof pendingOperations)[number];

export function operationHandlers(services: Services): Partial<OperationHandlers> {
  const implemented = {
    ...portalAuthHandlers(services),
    ...discoveryHandlers(services),
  } satisfies Omit<OperationHandlers, Pending>;
  return implemented;
}
