import type { UserPrincipal as Principal } from '../../core/request-context.ts';
import type { UserDoc } from '../../store/users.ts';

/**
 * The user document loaded while authenticating a request, kept for that request's handler so an
 * authenticated call reads the user once. Keyed by the Principal object: it lives exactly as long
 * as the request does.
 */
const loaded = new WeakMap<Principal, UserDoc>();

export function rememberAuthenticatedUser(principal: Principal, user: UserDoc): void {
  loaded.set(principal, user);
}

export function authenticatedUser(principal: Principal): UserDoc | undefined {
  return loaded.get(principal);
}
