import type { UserDoc } from '../../store/users.ts';
import { scopeClaims } from './issuers.ts';

/** The standard claims ScaiKey holds for a user (OpenID Connect Core §5.1); absent ones are left out. */
export function standardClaims(user: UserDoc): Record<string, unknown> {
  const given = user.first_name ?? undefined;
  const family = user.last_name ?? undefined;
  const name = user.display_name ?? ([given, family].filter(Boolean).join(' ') || undefined);
  const claims: Record<string, unknown> = {
    name,
    given_name: given,
    family_name: family,
    preferred_username: user.email,
    locale: user.locale ?? undefined,
    zoneinfo: user.timezone ?? undefined,
    updated_at: Math.floor(user.updated_at.getTime() / 1000),
    email: user.email,
    email_verified: user.email_verified,
    phone_number: user.phone ?? undefined,
    phone_number_verified: user.phone ? false : undefined,
  };
  for (const key of Object.keys(claims)) if (claims[key] === undefined) delete claims[key];
  return claims;
}

/** Claim names requested through one member of the `claims` parameter (§5.5), e.g. `userinfo`. */
export function requestedClaimNames(claimsParam: string | null, member: 'userinfo' | 'id_token'): string[] {
  if (!claimsParam) return [];
  try {
    const parsed = JSON.parse(claimsParam) as Record<string, unknown>;
    const part = parsed[member];
    return part && typeof part === 'object' && !Array.isArray(part) ? Object.keys(part) : [];
  } catch {
    return [];
  }
}

/** The claims released for these scopes plus the individually requested ones (§5.4, §5.5). */
export function releasedClaims(user: UserDoc, scopes: readonly string[], requested: readonly string[]): Record<string, unknown> {
  const all = standardClaims(user);
  const names = new Set<string>(requested);
  for (const scope of scopes) for (const claim of scopeClaims[scope] ?? []) names.add(claim);
  const out: Record<string, unknown> = {};
  for (const name of names) if (name in all) out[name] = all[name];
  return out;
}
