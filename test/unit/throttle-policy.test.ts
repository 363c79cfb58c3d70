// LoginThrottle / AttemptTicket / tenantLockout as pure policy, over an in-memory counter with
// the semantics of the MongoDB AttemptCounter (handlers/domain/rate-limit/attempt-counter.ts):
// fixed windows that start at the first hit, `extend` holding a live window open, `reset`
// deleting it, retryAfter = whole seconds left (at least 1), and `countAndReserve` counting two
// keys in one step, each only while under its limit (an expired window still stored refuses it,
// as the real upsert collides with it). Reservations are not tracked as in flight here (every
// counted attempt is a settled one): waiting for undecided parallel attempts is the integration
// tests' (sign-in-races, portal-auth).
import { beforeEach, describe, expect, test } from 'vitest';
import { ObjectId } from 'mongodb';
import { AttemptTicket, LoginThrottle, tenantLockout, type ThrottlePolicy } from '../../handlers/domain/rate-limit/login-throttle.ts';
import { ApiError } from '../../handlers/core/errors.ts';

type Tenant = Parameters<typeof tenantLockout>[0];
type Guard = { key: string; limit: number; windowSeconds: number };

class FakeCounter {
  now = 1_700_000_000_000;
  readonly windows = new Map<string, { count: number; expiresAt: number }>();
  readonly calls: string[] = [];

  advance(seconds: number): void {
    this.now += seconds * 1000;
  }

  private live(key: string) {
    const w = this.windows.get(key);
    return w && w.expiresAt > this.now ? w : undefined;
  }

  private count1(key: string, windowSeconds: number): { count: number; retryAfter: number } {
    const w = this.live(key);
    if (w) {
      w.count++;
      return { count: w.count, retryAfter: Math.max(1, Math.ceil((w.expiresAt - this.now) / 1000)) };
    }
    this.windows.set(key, { count: 1, expiresAt: this.now + windowSeconds * 1000 });
    return { count: 1, retryAfter: windowSeconds };
  }

  async hit(key: string, windowSeconds: number): Promise<{ count: number; retryAfter: number }> {
    this.calls.push(`hit ${key} ${windowSeconds}`);
    return this.count1(key, windowSeconds);
  }

  async countAndReserve(first: Guard, second: Guard): Promise<'reserved' | 'first-refused' | 'second-refused'> {
    this.calls.push(`countAndReserve ${first.key} ${first.windowSeconds} ${second.key} ${second.windowSeconds}`);
    const refuses = (g: Guard) => {
      const w = this.windows.get(g.key);
      return w !== undefined && (w.expiresAt <= this.now || w.count >= g.limit);
    };
    if (refuses(first)) return 'first-refused';
    this.count1(first.key, first.windowSeconds);
    if (refuses(second)) return 'second-refused';
    this.count1(second.key, second.windowSeconds);
    return 'reserved';
  }

  async settle(key: string, _lease: string, withdraw: boolean): Promise<number | null> {
    this.calls.push(`settle ${key} ${withdraw ? 'withdraw' : 'keep'}`);
    const w = this.live(key);
    if (!w) return null;
    if (withdraw) w.count--;
    return w.count;
  }

  async extend(key: string, seconds: number): Promise<void> {
    this.calls.push(`extend ${key} ${seconds}`);
    const w = this.live(key);
    if (w) w.expiresAt = Math.max(w.expiresAt, this.now + seconds * 1000);
  }

  async reset(key: string): Promise<void> {
    this.calls.push(`reset ${key}`);
    this.windows.delete(key);
  }

  count(key: string): number {
    return this.live(key)?.count ?? 0;
  }
}

const defaults: ThrottlePolicy = { accountThreshold: 3, lockoutSeconds: 900, ipLimit: 10, ipWindowSeconds: 600 };

function tenant(lockout: { threshold: number; duration_seconds: number } | null = null): Tenant {
  return { _id: new ObjectId(), slug: 'acme', name: 'Acme', status: 'active', settings: { lockout } } as unknown as Tenant;
}

let counter: FakeCounter;
let lockouts: Array<'ip' | 'account'>;
let throttle: LoginThrottle;

beforeEach(() => {
  counter = new FakeCounter();
  lockouts = [];
  throttle = new LoginThrottle(counter as never, defaults, (scope) => lockouts.push(scope));
});

/** The 429 a promise rejects with (fails the test when it resolves). */
async function refused(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).id).toBe('tooManyRequests');
  expect((error as ApiError).status).toBe(429);
  return error as ApiError;
}

describe('tenantLockout', () => {
  test('no tenant settings: nothing overridden', () => {
    expect(tenantLockout(tenant(null))).toEqual({});
  });

  test("the tenant's threshold and duration", () => {
    expect(tenantLockout(tenant({ threshold: 7, duration_seconds: 120 }))).toEqual({ accountThreshold: 7, lockoutSeconds: 120 });
  });
});

describe('account lockout', () => {
  test('the threshold of failures is allowed, the next attempt is refused', async () => {
    const t = tenant();
    for (let i = 0; i < defaults.accountThreshold; i++) {
      const ticket = await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1');
      await ticket.failed();
    }
    expect(lockouts).toEqual([]);
    const error = await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1'));
    expect(error.retryAfter).toBeGreaterThan(0);
    expect(error.retryAfter).toBeLessThanOrEqual(defaults.lockoutSeconds);
    expect(lockouts).toEqual(['account']);
  });

  test('attempts are counted before the secret is checked (an unfinished attempt counts)', async () => {
    const t = tenant();
    for (let i = 0; i < defaults.accountThreshold; i++) await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1');
    await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1'));
  });

  test('counters are per tenant and per normalised email', async () => {
    const a = tenant();
    const b = tenant();
    for (let i = 0; i < defaults.accountThreshold; i++) await (await throttle.beginAccountAttempt(a, 'ada@example.com', '203.0.113.1')).failed();
    await refused(throttle.beginAccountAttempt(a, 'ada@example.com', '203.0.113.2'));
    await expect(throttle.beginAccountAttempt(b, 'ada@example.com', '203.0.113.1')).resolves.toBeInstanceOf(AttemptTicket);
    await expect(throttle.beginAccountAttempt(a, 'grace@example.com', '203.0.113.1')).resolves.toBeInstanceOf(AttemptTicket);
    expect(counter.count(`acct:tenant:${a._id.toHexString()}:ada@example.com`)).toBe(defaults.accountThreshold + 1);
    expect(counter.count(`acct:tenant:${b._id.toHexString()}:ada@example.com`)).toBe(1);
  });

  test('the account window is the lockout duration, the address window the ip window', async () => {
    const t = tenant();
    await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1');
    const scope = `tenant:${t._id.toHexString()}`;
    // One step for both while each is under its limit.
    expect(counter.calls).toEqual([`countAndReserve ip:${scope}:203.0.113.1 ${defaults.ipWindowSeconds} acct:${scope}:ada@example.com ${defaults.lockoutSeconds}`]);
  });

  test('a failure on the last allowed attempt starts a full lockout from now', async () => {
    const t = tenant();
    for (let i = 0; i < defaults.accountThreshold - 1; i++) await (await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).failed();
    counter.advance(800); // 100 s left in the window
    const last = await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1');
    await last.failed();
    expect(counter.calls.at(-1)).toBe(`extend acct:tenant:${t._id.toHexString()}:ada@example.com ${defaults.lockoutSeconds}`);
    const error = await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1'));
    expect(error.retryAfter).toBe(defaults.lockoutSeconds);
    counter.advance(defaults.lockoutSeconds - 1);
    await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1'));
    counter.advance(2);
    await expect(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).resolves.toBeInstanceOf(AttemptTicket);
  });

  test('failures before the last allowed attempt do not extend the window', async () => {
    const t = tenant();
    for (let i = 0; i < defaults.accountThreshold - 1; i++) await (await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).failed();
    expect(counter.calls.filter((c) => c.startsWith('extend'))).toEqual([]);
  });

  test('without the extension the lockout ends with the window that the first failure opened', async () => {
    const t = tenant();
    for (let i = 0; i <= defaults.accountThreshold; i++) await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1').catch(() => undefined);
    counter.advance(defaults.lockoutSeconds - 10);
    const error = await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1'));
    expect(error.retryAfter).toBe(10);
    counter.advance(10);
    await expect(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).resolves.toBeInstanceOf(AttemptTicket);
  });

  test('success resets the account counter', async () => {
    const t = tenant();
    for (let i = 0; i < defaults.accountThreshold - 1; i++) await (await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).failed();
    await (await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).succeeded();
    expect(counter.count(`acct:tenant:${t._id.toHexString()}:ada@example.com`)).toBe(0);
    for (let i = 0; i < defaults.accountThreshold; i++) await (await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).failed();
    await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1'));
  });

  test('success on the last allowed attempt resets rather than extends', async () => {
    const t = tenant();
    for (let i = 0; i < defaults.accountThreshold - 1; i++) await (await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).failed();
    await (await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).succeeded();
    expect(counter.calls.filter((c) => c.startsWith('extend'))).toEqual([]);
    await expect(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).resolves.toBeInstanceOf(AttemptTicket);
  });

  test('resetAccount lifts a lockout', async () => {
    const t = tenant();
    for (let i = 0; i <= defaults.accountThreshold; i++) await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1').catch(() => undefined);
    await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1'));
    await throttle.resetAccount(t, 'ada@example.com');
    await expect(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1')).resolves.toBeInstanceOf(AttemptTicket);
  });

  test("a tenant's own lockout settings override the defaults", async () => {
    const strict = tenant({ threshold: 1, duration_seconds: 30 });
    const ticket = await throttle.beginAccountAttempt(strict, 'ada@example.com', '203.0.113.1');
    await ticket.failed();
    expect(counter.calls[0]).toContain(`acct:tenant:${strict._id.toHexString()}:ada@example.com 30`);
    expect(counter.calls).toContain(`extend acct:tenant:${strict._id.toHexString()}:ada@example.com 30`);
    const error = await refused(throttle.beginAccountAttempt(strict, 'ada@example.com', '203.0.113.1'));
    expect(error.retryAfter).toBe(30);
    counter.advance(31);
    await expect(throttle.beginAccountAttempt(strict, 'ada@example.com', '203.0.113.1')).resolves.toBeInstanceOf(AttemptTicket);

    const lenient = tenant({ threshold: 6, duration_seconds: 60 });
    for (let i = 0; i < 6; i++) await (await throttle.beginAccountAttempt(lenient, 'ada@example.com', '203.0.113.9')).failed();
    await refused(throttle.beginAccountAttempt(lenient, 'ada@example.com', '203.0.113.9'));
  });

  test('beginAttempt takes an explicit partial policy for other scopes', async () => {
    for (let i = 0; i < 2; i++) await throttle.beginAttempt('portal', 'ada@example.com', '203.0.113.1', { accountThreshold: 2 });
    await refused(throttle.beginAttempt('portal', 'ada@example.com', '203.0.113.1', { accountThreshold: 2 }));
    expect(counter.calls.some((c) => c.startsWith('hit acct:portal:ada@example.com'))).toBe(true);
    expect(counter.calls[0]).toContain('acct:portal:ada@example.com');
  });
});

describe('address limit', () => {
  test('more attempts than the ip limit from one address are refused, whatever the account', async () => {
    const t = tenant();
    for (let i = 0; i < defaults.ipLimit; i++) await throttle.beginAccountAttempt(t, `user${i}@example.com`, '198.51.100.7');
    const error = await refused(throttle.beginAccountAttempt(t, 'someone@example.com', '198.51.100.7'));
    expect(error.retryAfter).toBe(defaults.ipWindowSeconds);
    expect(lockouts).toEqual(['ip']);
    // The refused attempt never reached the account counter.
    expect(counter.count(`acct:tenant:${t._id.toHexString()}:someone@example.com`)).toBe(0);
    // Another address is unaffected.
    await expect(throttle.beginAccountAttempt(t, 'someone@example.com', '198.51.100.8')).resolves.toBeInstanceOf(AttemptTicket);
  });

  test('a success does not reset the address counter', async () => {
    const t = tenant();
    for (let i = 0; i < defaults.ipLimit; i++) await (await throttle.beginAccountAttempt(t, 'ada@example.com', '198.51.100.7')).succeeded();
    await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '198.51.100.7'));
  });

  test('the address window ends', async () => {
    const t = tenant();
    for (let i = 0; i <= defaults.ipLimit; i++) await throttle.beginAccountAttempt(t, `u${i}@example.com`, '198.51.100.7').catch(() => undefined);
    counter.advance(defaults.ipWindowSeconds);
    await expect(throttle.beginAccountAttempt(t, 'x@example.com', '198.51.100.7')).resolves.toBeInstanceOf(AttemptTicket);
  });

  test('the address limit applies per scope', async () => {
    const a = tenant();
    const b = tenant();
    for (let i = 0; i < defaults.ipLimit; i++) await throttle.beginAccountAttempt(a, `u${i}@example.com`, '198.51.100.7');
    await refused(throttle.beginAccountAttempt(a, 'x@example.com', '198.51.100.7'));
    await expect(throttle.beginAccountAttempt(b, 'x@example.com', '198.51.100.7')).resolves.toBeInstanceOf(AttemptTicket);
  });
});

describe('limitAddress', () => {
  test('allows factor × the ip limit per window, then refuses', async () => {
    for (let i = 0; i < defaults.ipLimit * 3; i++) await throttle.limitAddress('forgot-password', '192.0.2.1', 3);
    expect(lockouts).toEqual([]);
    const error = await refused(throttle.limitAddress('forgot-password', '192.0.2.1', 3));
    expect(error.retryAfter).toBe(defaults.ipWindowSeconds);
    expect(lockouts).toEqual(['ip']);
    expect(counter.calls[0]).toBe(`hit ip:forgot-password:192.0.2.1 ${defaults.ipWindowSeconds}`);
  });

  test('a fractional factor tightens the budget', async () => {
    for (let i = 0; i < defaults.ipLimit / 2; i++) await throttle.limitAddress('register', '192.0.2.1', 0.5);
    await refused(throttle.limitAddress('register', '192.0.2.1', 0.5));
  });

  test('scopes and addresses have separate budgets', async () => {
    for (let i = 0; i < defaults.ipLimit; i++) await throttle.limitAddress('register', '192.0.2.1', 1);
    await refused(throttle.limitAddress('register', '192.0.2.1', 1));
    await expect(throttle.limitAddress('register', '192.0.2.2', 1)).resolves.toBeUndefined();
    await expect(throttle.limitAddress('verify', '192.0.2.1', 1)).resolves.toBeUndefined();
  });
});

describe('onLockout', () => {
  test('is told the scope of every refusal, and nothing for allowed attempts', async () => {
    const t = tenant();
    for (let i = 0; i < defaults.accountThreshold; i++) await throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1');
    expect(lockouts).toEqual([]);
    await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1'));
    await refused(throttle.beginAccountAttempt(t, 'ada@example.com', '203.0.113.1'));
    for (let i = 0; i < defaults.ipLimit; i++) await throttle.beginAccountAttempt(t, `u${i}@example.com`, '203.0.113.2');
    await refused(throttle.beginAccountAttempt(t, 'z@example.com', '203.0.113.2'));
    expect(lockouts).toEqual(['account', 'account', 'ip']);
  });

  test('defaults to doing nothing', async () => {
    const quiet = new LoginThrottle(counter as never, { ...defaults, accountThreshold: 1 });
    await quiet.beginAttempt('s', 'k', '203.0.113.1');
    await refused(quiet.beginAttempt('s', 'k', '203.0.113.1'));
  });
});

describe('AttemptTicket', () => {
  test('failed() keeps the attempt and extends only when the settled failures reach the threshold', async () => {
    counter.windows.set('acct:k', { count: 2, expiresAt: counter.now + 60_000 });
    await new AttemptTicket(counter as never, 'acct:k', 'lease', 3, 60).failed();
    expect(counter.calls).toEqual(['settle acct:k keep']);
    counter.windows.set('acct:k', { count: 3, expiresAt: counter.now + 60_000 });
    await new AttemptTicket(counter as never, 'acct:k', 'lease', 3, 60).failed();
    expect(counter.calls).toEqual(['settle acct:k keep', 'settle acct:k keep', 'extend acct:k 60']);
  });

  test('failed() of a reservation whose window is gone changes nothing', async () => {
    await new AttemptTicket(counter as never, 'acct:k', 'lease', 1, 60).failed();
    expect(counter.calls).toEqual(['settle acct:k keep']);
  });

  test('succeeded() resets its account key; released() takes the attempt back; only the first of them counts', async () => {
    const ticket = new AttemptTicket(counter as never, 'acct:k', 'lease', 3, 60);
    await ticket.succeeded();
    await ticket.failed();
    await ticket.released();
    expect(counter.calls).toEqual(['reset acct:k']);
    counter.windows.set('acct:j', { count: 2, expiresAt: counter.now + 60_000 });
    await new AttemptTicket(counter as never, 'acct:j', 'lease', 3, 60).released();
    expect(counter.count('acct:j')).toBe(1);
  });
});
