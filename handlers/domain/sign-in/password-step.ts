import { ApiError } from '../../core/errors.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { PasswordHasher } from '../passwords/hasher.ts';
import type { LoginThrottle } from '../rate-limit/login-throttle.ts';
import type { Tenants } from '../tenants/tenants.ts';
import type { Users } from '../users/users.ts';

/** Where to look for the account: one tenant (hosted page), or every tenant of the address (portal). */
export type AccountScope = { tenant: TenantDoc } | { tenantId: string | null | undefined };

export type SignInChannel = 'portal' | 'tenant';

interface Deps {
  users: Users;
  tenants: Tenants;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  audit: AuditLog;
}

/**
 * The password step of every sign-in, and the only place a password is compared. The attempt is
 * counted before the hash is compared (parallel guesses cannot pass the limit); an unknown account
 * costs the same hash (a dummy) and gets the same answer as a wrong password; every refusal is
 * audited; a right password on a locked or disabled account counts as a failure.
 */
export class PasswordStep {
  constructor(private readonly deps: Deps) {}

  async check(
    input: { emailNormalized: string; password: string; scope: AccountScope; channel: SignInChannel },
    client: ClientInfo,
    onFailure?: () => Promise<void>,
  ): Promise<{ user: UserDoc; tenant: TenantDoc }> {
    const { emailNormalized: email, password, channel } = input;
    const { target, tenant, ambiguous } = await this.findAccount(email, input.scope);
    // A tenant's account counts on the counter every password check of that tenant uses; an
    // address with no account anywhere gets one of its own, so it locks exactly like a real one.
    const ticket = tenant
      ? await this.deps.throttle.beginAccountAttempt(tenant, email, client.clientIp)
      : await this.deps.throttle.beginAttempt('portal', email, client.clientIp);
    const ok = await this.deps.hasher.verify(password, target?.password_hash);
    if (!ok || !target || !tenant) {
      await Promise.all([ticket.failed(), onFailure?.()]);
      await this.refused(target, tenant, client, channel, target ? 'bad_password' : 'unknown_account');
      throw new ApiError('invalidCredentials');
    }
    // The password was right, so the caller knows the account: asking which tenant reveals nothing more.
    if (ambiguous) throw new ApiError('tenantSelectionRequired');
    if (target.status !== 'active' && target.status !== 'pending') {
      await ticket.failed();
      await this.refused(target, tenant, client, channel, `account_${target.status}`);
      throw new ApiError('invalidCredentials', { internal: `account ${target.status}` });
    }
    if (target.status === 'pending' || (tenant.settings.require_email_verification && !target.email_verified)) throw new ApiError('emailNotVerified');
    await ticket.succeeded();
    void this.deps.users.upgradeHash(target, password).catch(() => undefined);
    return { user: target, tenant };
  }

  /**
   * The signed-in user's current password again (password change, adding or removing a factor),
   * on the same counter as sign-in, so guesses made here count there too.
   */
  async confirm(user: UserDoc, tenant: TenantDoc, password: string, client: ClientInfo, event: { type: string; details?: Record<string, unknown> }): Promise<void> {
    const ticket = await this.deps.throttle.beginAccountAttempt(tenant, user.email_normalized, client.clientIp);
    if (!(await this.deps.hasher.verify(password, user.password_hash))) {
      await ticket.failed();
      await this.deps.audit.record({ type: event.type, outcome: 'failure', tenantId: tenant._id, userId: user._id, ...client, ...(event.details ? { details: event.details } : {}) });
      throw new ApiError('currentPasswordIncorrect');
    }
    await ticket.succeeded();
  }

  private async findAccount(email: string, scope: AccountScope): Promise<{ target: UserDoc | undefined; tenant: TenantDoc | undefined; ambiguous: boolean }> {
    if ('tenant' in scope) {
      const user = await this.deps.users.findInTenant(scope.tenant._id, email);
      return { target: user ?? undefined, tenant: scope.tenant, ambiguous: false };
    }
    const accounts = await this.deps.users.findAllByEmail(email);
    const candidates = scope.tenantId ? accounts.filter((a) => a.tenant_id.toHexString() === scope.tenantId) : accounts;
    const tenants = await this.deps.tenants.findActiveByIds(candidates.map((c) => c.tenant_id));
    const live = candidates.filter((c) => tenants.some((t) => t._id.equals(c.tenant_id)));
    const target = live[0];
    return { target, tenant: target && tenants.find((t) => t._id.equals(target.tenant_id)), ambiguous: live.length > 1 };
  }

  private refused(user: UserDoc | undefined, tenant: TenantDoc | undefined, client: ClientInfo, channel: SignInChannel, reason: string): Promise<void> {
    return this.deps.audit.record({ type: 'login', outcome: 'failure', tenantId: user?.tenant_id ?? tenant?._id ?? null, userId: user?._id ?? null, ...client, details: { channel, reason } });
  }
}
