import { ApiError } from '../../core/errors.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import { newLease, type AttemptCounter } from './attempt-counter.ts';

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
    private readonly wait: { maxWaitRounds: number; waitMs: number } = { maxWaitRounds: 120, waitMs: 25 },
  ) {}

  /** A per-address budget for unauthenticated work that is not a secret check: `factor` × the login budget. */
  limitAddress(scope: string, clientIp: string, factor: number): Promise<void> {
    return this.limitAddressTo(scope, clientIp, this.policy.ipLimit * factor);
  }

  /** A per-address budget of `limit` requests per IP_RATE_WINDOW (a setting such as IDENTIFY_RATE_LIMIT). */
  async limitAddressTo(scope: string, clientIp: string, limit: number): Promise<void> {
    const state = await this.counter.hit(`ip:${scope}:${clientIp}`, this.policy.ipWindowSeconds);
    if (state.count > limit) {
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

  /**
   * Reserves one attempt on the account's counter before the secret is evaluated. The reservation
   * holds a slot until the ticket settles it: a wrong secret keeps it (a failure), a right one
   * resets the counter, an attempt that was never decided releases it. So N parallel wrong guesses
   * evaluate at most the threshold, while N parallel right ones cannot lock their own account: an
   * attempt over the threshold whose excess is only reservations still in flight (not settled
   * failures) takes its slot back and waits for them, up to `maxWaitRounds` × `waitMs`.
   *
   * The common case, both the address and the account under their limits, is one command that
   * counts the address and then reserves on the account. When either is refused there, the steps
   * run one by one as they always did (a full window and an expired one look alike to that guard).
   */
  async beginAttempt(scope: string, accountKey: string, clientIp: string, policy: Partial<ThrottlePolicy> = {}): Promise<AttemptTicket> {
    const p = { ...this.policy, ...policy };
    const ipKey = `ip:${scope}:${clientIp}`;
    const account = `acct:${scope}:${accountKey}`;
    const lease = newLease();
    const fast = await this.counter.countAndReserve(
      { key: ipKey, limit: p.ipLimit, windowSeconds: p.ipWindowSeconds },
      { key: account, limit: p.accountThreshold, windowSeconds: p.lockoutSeconds },
      lease,
    );
    if (fast === 'reserved') return new AttemptTicket(this.counter, account, lease, p.accountThreshold, p.lockoutSeconds);
    if (fast === 'first-refused') {
      const ip = await this.counter.hit(ipKey, p.ipWindowSeconds);
      if (ip.count > p.ipLimit) this.onLockout('ip');
      if (ip.count > p.ipLimit) throw new ApiError('tooManyRequests', { retryAfter: ip.retryAfter, internal: `ip limit ${clientIp}` });
    }
    for (let round = 0; ; round++) {
      const roundLease = round === 0 ? lease : newLease();
      const acct = await this.counter.hit(account, p.lockoutSeconds, roundLease);
      if (acct.count <= p.accountThreshold) return new AttemptTicket(this.counter, account, roundLease, p.accountThreshold, p.lockoutSeconds);
      const settled = acct.count - (acct.inflight ?? 0);
      if (settled < p.accountThreshold) {
        // Only undecided attempts stand in the way: take this one back, and wait for them, or give up.
        await this.counter.settle(account, roundLease, true);
        if (round < this.wait.maxWaitRounds) {
          await new Promise((resolve) => setTimeout(resolve, this.wait.waitMs));
          continue;
        }
        throw new ApiError('tooManyRequests', { retryAfter: 1, internal: `account busy ${scope}` });
      }
      // Locked: the refused attempt counts, as it always has.
      await this.counter.settle(account, roundLease, false);
      this.onLockout('account');
      throw new ApiError('tooManyRequests', { retryAfter: acct.retryAfter, internal: `account locked ${scope}` });
    }
  }
}

/**
 * One reserved attempt. Exactly one of succeeded / failed / released takes effect (later calls do
 * nothing), and every path that took a ticket must end in one of them.
 */
export class AttemptTicket {
  private settled = false;

  constructor(
    private readonly counter: AttemptCounter,
    private readonly accountKey: string,
    /** The reservation's lease on the account's counter. */
    private readonly lease: string,
    private readonly threshold: number,
    private readonly lockoutSeconds: number,
  ) {}

  /** The secret was right: the account's counter starts again. */
  async succeeded(): Promise<void> {
    if (this.end()) await this.counter.reset(this.accountKey);
  }

  /** The attempt already counted; the failure that brings the settled ones to the threshold starts a full lockout period from now. */
  async failed(): Promise<void> {
    if (!this.end()) return;
    const settled = await this.counter.settle(this.accountKey, this.lease, false);
    if (settled !== null && settled >= this.threshold) await this.counter.extend(this.accountKey, this.lockoutSeconds);
  }

  /** The attempt decided nothing about the secret (it was right but proves nothing here, or it never ran): its slot is given back. */
  async released(): Promise<void> {
    if (this.end()) await this.counter.settle(this.accountKey, this.lease, true);
  }

  private end(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return true;
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
