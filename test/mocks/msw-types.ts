/**
 * Compile-time checks of the MSW override types (checked by `tsc --noEmit -p .`, not run by
 * vitest): overrides can only name documented statuses and examples, and bodies are typed from
 * generated/operations.ts.
 */
import { getExample, mockResponse } from '../../mocks/msw.ts';
import type { UserProfile } from '../../generated/models/index.ts';

export function overrideTypeChecks(): void {
  // @ts-expect-error 418 is not documented for getProfile
  mockResponse('getProfile', { status: 418 });
  // @ts-expect-error no such example
  mockResponse('getProfile', { example: 'nope' });
  // @ts-expect-error invalidToken is a 401 example, not a 200 one
  mockResponse('getProfile', { status: 200, example: 'invalidToken' });
  // @ts-expect-error the 200 body is a UserProfile
  mockResponse('getProfile', { body: { detail: 'x' } });
  // @ts-expect-error unknown operation
  mockResponse('getProfiles', { status: 200 });

  mockResponse('getProfile', { status: 401, body: { detail: 'x' } });
  mockResponse('getProfile', { status: 401, example: 'invalidToken' });
  mockResponse('getProfile', { example: 'mfa' });
  mockResponse('getProfile', { dynamic: true, seed: 3 });
  mockResponse('tenantLogin', { status: 200, example: 'mfaRequired' }, { once: true, delay: 50 });
  const profile: UserProfile = getExample('getProfile', 'profile');
  void profile;
}
