import { ObjectId } from 'mongodb';
import { ApiError } from '../../core/errors.ts';
import type { ClientPrincipal, Principal, UserPrincipal } from '../../core/request-context.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { AdminRoleName, UserDoc } from '../../store/users.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { authenticatedUser } from '../users/authenticated-user.ts';
import type { Users } from '../users/users.ts';

/** What an admin may reach: everything, one partner's tenants, or one tenant (with its partner, if any). */
export type AdminReach =
  | { kind: 'platform' }
  | { kind: 'partner'; partnerId: string }
  | { kind: 'tenant'; tenantId: ObjectId; partnerId: string | null };

/** The caller of an admin endpoint once the guard has let it in. */
export type AdminActor =
  | { kind: 'user'; userId: ObjectId; role: AdminRoleName; reach: AdminReach; principal: UserPrincipal; user: UserDoc; tenant: TenantDoc }
  | { kind: 'client'; clientId: string; reach: AdminReach; principal: ClientPrincipal };

export type AdminNeed = 'read' | 'write';

/** The actor's id and role as the audit log names it. */
export function actorSummary(actor: AdminActor): { kind: 'user' | 'client'; id: string; role: string } {
  return actor.kind === 'user'
    ? { kind: 'user', id: actor.userId.toHexString(), role: actor.role }
    : { kind: 'client', id: actor.clientId, role: actor.principal.platformToken ? 'platform_token' : `client_${actor.principal.appScope.toLowerCase()}` };
}

/** The guard's rule for client tokens (docs §6, §9.2), separate so it can be tested without a server. */
export function clientActor(principal: ClientPrincipal, need: AdminNeed): AdminActor {
  // Only platform tokens (client_credentials from GLOBAL apps) may use the admin API at all.
  if (!principal.platformToken) throw new ApiError('adminRequired', { internal: `client ${principal.clientId} token is not a platform token` });
  const scopes = new Set(principal.scopes);
  const allowed = need === 'read' ? scopes.has('admin:read') || scopes.has('admin:write') : scopes.has('admin:write');
  if (!allowed) throw new ApiError('platformScopeRequired', { internal: `client ${principal.clientId} lacks admin:${need}` });
  let reach: AdminReach;
  if (principal.appScope === 'GLOBAL') reach = { kind: 'platform' };
  else if (principal.appScope === 'PARTNER' && principal.partnerId) reach = { kind: 'partner', partnerId: principal.partnerId };
  else if (principal.appScope === 'TENANT' && principal.tenantId && ObjectId.isValid(principal.tenantId)) reach = { kind: 'tenant', tenantId: new ObjectId(principal.tenantId), partnerId: principal.partnerId };
  else throw new ApiError('adminRequired', { internal: `client ${principal.clientId} has no owner for its scope` });
  return { kind: 'client', clientId: principal.clientId, reach, principal };
}

/**
 * Who may call an admin endpoint: a user holding an admin role (read from the user document, not
 * the token, so a role taken away stops working at once), or a platform client_credentials token
 * with `admin:read` (reads) or `admin:write` (reads and writes).
 */
export class AdminAccess {
  constructor(private readonly deps: { users: Users; tenants: Tenants }) {}

  async require(principal: Principal | undefined, need: AdminNeed): Promise<AdminActor> {
    if (!principal) throw new ApiError('notAuthenticated');
    if (principal.kind === 'client') return clientActor(principal, need);
    const user = authenticatedUser(principal) ?? (await this.deps.users.findRecentById(new ObjectId(principal.userId)));
    if (!user?.admin || user.status !== 'active') throw new ApiError('adminRequired');
    const tenant = await this.deps.tenants.findActiveById(user.tenant_id);
    if (!tenant) throw new ApiError('adminRequired', { internal: 'admin tenant not active' });
    const { role } = user.admin;
    let reach: AdminReach;
    if (role === 'super_admin') reach = { kind: 'platform' };
    else if (role === 'partner_admin' && user.admin.partner_id) reach = { kind: 'partner', partnerId: user.admin.partner_id };
    else if (role === 'tenant_admin') reach = { kind: 'tenant', tenantId: user.tenant_id, partnerId: tenant.partner_id ?? null };
    else throw new ApiError('adminRequired', { internal: 'partner_admin without partner' });
    return { kind: 'user', userId: user._id, role, reach, principal, user, tenant };
  }
}
