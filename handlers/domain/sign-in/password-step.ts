import { ApiError } from '../../core/errors.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { PasswordHasher } from '../passwords/hasher.ts';
import type { AttemptTicket, LoginThrottle } from '../rate-limit/login-throttle.ts';
import { isPlatformTenant, type Tenants } from '../tenants/tenants.ts';
import type { Users } from '../users/users.ts';
import { internalHex } from '../../core/public-ids.ts';

/**
 * Where to look for the account: one tenant (hosted page), every tenant of the address (portal),
 * or only the address's accounts that hold an admin role (admin sign-in), optionally in one tenant.
 */
export type AccountScope = { tenant: TenantDoc } | { tenantId: string | null | undefined; adminsOnly?: boolean };

export type SignInChannel = 'portal' | 'tenant' | 'admin';

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
    const accounts = await this.findAccounts(email, input.scope);
    if (accounts.length > 1) return this.checkSeveral(accounts, input, client, onFailure);
    const { user: target, tenant } = accounts[0] ?? { user: undefined, tenant: 'tenant' in input.scope ? input.scope.tenant : undefined };
    // A tenant's account counts on the counter every password check of that tenant uses; an
    // address with no account anywhere gets one of its own, so it locks exactly like a real one.
    const ticket = tenant
      ? await this.deps.throttle.beginAccountAttempt(tenant, email, client.clientIp)
      : await this.deps.throttle.beginAttempt(channel === 'admin' ? 'admin' : 'portal', email, client.clientIp);
    try {
      const ok = await this.deps.hasher.verify(password, target?.password_hash);
      if (!ok || !target || !tenant) {
        await Promise.all([ticket.failed(), onFailure?.()]);
        await this.refused(target, tenant, client, channel, target ? 'bad_password' : 'unknown_account');
        throw new ApiError('invalidCredentials');
      }
      if (target.status !== 'active' && target.status !== 'pending') {
        await ticket.failed();
        await this.refused(target, tenant, client, channel, `account_${target.status}`);
        throw new ApiError('invalidCredentials', { internal: `account ${target.status}` });
      }
      // A right password that cannot sign in yet: its reservation is released (finally), it is no failure.
      if (target.status === 'pending' || (tenant.settings.require_email_verification && !target.email_verified)) throw new ApiError('emailNotVerified');
      await ticket.succeeded();
      void this.deps.users.upgradeHash(target, password).catch(() => undefined);
      return { user: target, tenant };
    } finally {
      await ticket.released();
    }
  }

  /**
   * Several live accounts share the address and no tenant was chosen (portal only). The rule is
   * deterministic and independent of the order the database returns them in: the answer is
   * "select a tenant" when the password is right for any of them, and "invalid email or password"
   * otherwise; nobody is signed in. The password is checked against every one of them, each on its
   * own tenant's account counter (reserved in a fixed order, so parallel requests never wait on
   * each other in a cycle): a locked account refuses the attempt, a wrong password is a failure on
   * every counter, and a right one releases them all. The answer tells nothing the caller could
   * not learn from identify, which lists the tenants.
   */
  private async checkSeveral(
    accounts: Array<{ user: UserDoc; tenant: TenantDoc }>,
    input: { emailNormalized: string; password: string; channel: SignInChannel },
    client: ClientInfo,
    onFailure?: () => Promise<void>,
  ): Promise<never> {
    const tickets: AttemptTicket[] = [];
    try {
      for (const { tenant } of accounts) tickets.push(await this.deps.throttle.beginAccountAttempt(tenant, input.emailNormalized, client.clientIp));
      const matches = await Promise.all(accounts.map(({ user }) => this.deps.hasher.verify(input.password, user.password_hash)));
      if (matches.some(Boolean)) throw new ApiError('tenantSelectionRequired');
      await Promise.all([...tickets.map((t) => t.failed()), onFailure?.()]);
      await Promise.all(accounts.map(({ user, tenant }) => this.refused(user, tenant, client, input.channel, 'bad_password')));
      throw new ApiError('invalidCredentials');
    } finally {
      await Promise.all(tickets.map((t) => t.released()));
    }
  }

  /**
   * The signed-in user's current password again (password change, adding or removing a factor),
   * on the same counter as sign-in, so guesses made here count there too.
   */
  async confirm(user: UserDoc, tenant: TenantDoc, password: string, client: ClientInfo, event: { type: string; details?: Record<string, unknown> }): Promise<void> {
    const ticket = await this.deps.throttle.beginAccountAttempt(tenant, user.email_normalized, client.clientIp);
    try {
      if (!(await this.deps.hasher.verify(password, user.password_hash))) {
        await ticket.failed();
        await this.deps.audit.record({ type: event.type, outcome: 'failure', tenantId: tenant._id, userId: user._id, ...client, ...(event.details ? { details: event.details } : {}) });
        throw new ApiError('currentPasswordIncorrect');
      }
      await ticket.succeeded();
    } finally {
      await ticket.released();
    }
  }

  /**
   * The accounts a password may be checked against. On a tenant's hosted page: the tenant's account
   * with this address, whatever its state (the checks above answer for it). In the portal: only
   * live accounts, that is active accounts of active tenants (optionally of the chosen tenant), in
   * a fixed order (oldest first). Pending accounts do not count: anyone can register any address
   * in an open tenant and leave it pending. Disabled and locked ones do not count either.
   */
  private async findAccounts(email: string, scope: AccountScope): Promise<Array<{ user: UserDoc; tenant: TenantDoc }>> {
    if ('tenant' in scope) {
      const user = await this.deps.users.findInTenant(scope.tenant._id, email);
      return user ? [{ user, tenant: scope.tenant }] : [];
    }
    // Admin sign-in: only accounts holding an admin role, so anyone else is an unknown account
    // (the same dummy hash and the same 401 as a wrong password: no oracle of who is an admin).
    const accounts = scope.adminsOnly ? await this.deps.users.findLiveAdminsByEmail(email) : await this.deps.users.findLiveByEmail(email);
    const candidates = scope.tenantId ? accounts.filter((a) => a.tenant_id.toHexString() === internalHex('tenant', scope.tenantId)) : accounts;
    const tenants = await this.deps.tenants.findActiveByIds(candidates.map((c) => c.tenant_id));
    return candidates.flatMap((user) => {
      const tenant = tenants.find((t) => t._id.equals(user.tenant_id));
      // The platform tenant is the admins' home, never a portal account.
      if (!tenant || (isPlatformTenant(tenant) && !scope.adminsOnly)) return [];
      return [{ user, tenant }];
    });
  }

  private refused(user: UserDoc | undefined, tenant: TenantDoc | undefined, client: ClientInfo, channel: SignInChannel, reason: string): Promise<void> {
    return this.deps.audit.record({ type: 'login', outcome: 'failure', tenantId: user?.tenant_id ?? tenant?._id ?? null, userId: user?._id ?? null, ...client, details: { channel, reason } });
  }
}
