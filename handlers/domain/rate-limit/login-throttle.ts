import { ApiError } from '../../core/errors.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { AttemptCounter } from './attempt-counter.ts';

export interface ThrottlePolicy {
  accountThreshold: number;
  lockoutSeconds: number;
  ipLimit: number;
  ipWindowSeconds: number;
}

/**
 * Brute-force defence for anything that checks a secret. An attempt is counted *before* the secret
 * is evaluated, so parallel guesses cannot exceed the limit; success clears the account counter.
 * Keys use the normalised email, not the user id, so unknown and known accounts lock alike.
 */
export class LoginThrottle {
  constructor(
    private readonly counter: AttemptCounter,
    private readonly policy: ThrottlePolicy,
    private readonly onLockout: (scope: 'ip' | 'account') => void = () => undefined,
  ) {}

  /** A per-address budget for unauthenticated work that is not a secret check: `factor` × the login budget. */
  async limitAddress(scope: string, clientIp: string, factor: number): Promise<void> {
    const state = await this.counter.hit(`ip:${scope}:${clientIp}`, this.policy.ipWindowSeconds);
    if (state.count > this.policy.ipLimit * factor) {
      this.onLockout('ip');
      throw new ApiError('tooManyRequests', { retryAfter: state.retryAfter, internal: `${scope} limit ${clientIp}` });
    }
  }

  /**
   * A password attempt on a tenant's account. Sign-in, re-authentication and password change all
   * count on this one counter, so guesses made through any of them add up.
   */
  beginAccountAttempt(tenant: TenantDoc, emailNormalized: string, clientIp: string): Promise<AttemptTicket> {
    return this.beginAttempt(accountScope(tenant), emailNormalized, clientIp, tenantLockout(tenant));
  }

  /** Lifts a tenant account's lockout, e.g. after a password reset proved control of the mailbox. */
  async resetAccount(tenant: TenantDoc, emailNormalized: string): Promise<void> {
    await this.counter.reset(`acct:${accountScope(tenant)}:${emailNormalized}`);
  }

  async beginAttempt(scope: string, accountKey: string, clientIp: string, policy: Partial<ThrottlePolicy> = {}): Promise<AttemptTicket> {
    const p = { ...this.policy, ...policy };
    const ipKey = `ip:${scope}:${clientIp}`;
    const account = `acct:${scope}:${accountKey}`;
    const ip = await this.counter.hit(ipKey, p.ipWindowSeconds);
    if (ip.count > p.ipLimit) this.onLockout('ip');
    if (ip.count > p.ipLimit) throw new ApiError('tooManyRequests', { retryAfter: ip.retryAfter, internal: `ip limit ${clientIp}` });
    const acct = await this.counter.hit(account, p.lockoutSeconds);
    if (acct.count > p.accountThreshold) {
      this.onLockout('account');
      throw new ApiError('tooManyRequests', { retryAfter: acct.retryAfter, internal: `account locked ${scope}` });
    }
    return new AttemptTicket(this.counter, account, acct.count >= p.accountThreshold, p.lockoutSeconds);
  }
}

export class AttemptTicket {
  constructor(
    private readonly counter: AttemptCounter,
    private readonly accountKey: string,
    private readonly lastAllowed: boolean,
    private readonly lockoutSeconds: number,
  ) {}

  async succeeded(): Promise<void> {
    await this.counter.reset(this.accountKey);
  }

  /** The attempt already counted; reaching the threshold starts a full lockout period from now. */
  async failed(): Promise<void> {
    if (this.lastAllowed) await this.counter.extend(this.accountKey, this.lockoutSeconds);
  }
}

function accountScope(tenant: TenantDoc): string {
  return `tenant:${tenant._id.toHexString()}`;
}

/** The tenant's own lockout settings, where it has any, over the server defaults. */
export function tenantLockout(tenant: TenantDoc): Partial<ThrottlePolicy> {
  const lockout = tenant.settings.lockout;
  return lockout ? { accountThreshold: lockout.threshold, lockoutSeconds: lockout.duration_seconds } : {};
}
