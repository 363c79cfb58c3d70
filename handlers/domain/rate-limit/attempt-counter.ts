import { randomBytes } from 'node:crypto';
import type { CounterStore } from '../../store/counters.ts';
import { ApiError } from '../../core/errors.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

export interface CounterState {
  count: number;
  /** Seconds until the window (or lockout) ends. */
  retryAfter: number;
  /** Reservations only: how many of `count` are still in flight (this one included). */
  inflight?: number;
}

/** A reservation's lease: it identifies the attempt until it settles. */
export function newLease(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Fixed-window counters in MongoDB shared by every replica. Each step is a single atomic
 * operation (an $inc upsert whose filter checks expiry and whose insert the unique _id guards; a
 * conditional window reset), so concurrent requests can never both see "under the limit" past it.
 * TTL only tidies up (and keeps a counted attempt at one command); expiry is checked in every filter.
 */
export class AttemptCounter {
  constructor(
    private readonly counters: CounterStore,
    private readonly clock: Clock,
  ) {}

  /**
   * Counts one attempt and returns the new count. With `lease`, the attempt is also in flight
   * under that lease until `settle` says how it ended (see LoginThrottle).
   */
  async hit(key: string, windowSeconds: number, lease?: string): Promise<CounterState> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = this.clock.now();
      // The common cases, a live window or none at all (TTL removed the last), are one command.
      const counted = await this.counters.incrementOrOpen(key, now, addSeconds(now, windowSeconds), lease);
      if (counted) return { count: counted.count, retryAfter: secondsUntil(counted.expires_at, now), ...(lease ? { inflight: counted.leases?.length ?? 1 } : {}) };
      // An expired window TTL has not removed yet, or one a racing caller has just opened.
      const restarted = await this.counters.restartExpired(key, now, addSeconds(now, windowSeconds), lease);
      if (restarted) return { count: 1, retryAfter: windowSeconds, ...(lease ? { inflight: 1 } : {}) };
    }
    throw new Error(`attempt counter ${key} kept changing under contention`);
  }

  /**
   * The common case of a password attempt in one command: counts one on `first` (the address)
   * and then reserves one on `second` (the account) under `lease`, each only while under its
   * limit. Anything else ('first-refused': nothing counted; 'second-refused': only `first`
   * counted) is for the caller to settle step by step with `hit`, which tells a full window from
   * an expired one.
   */
  countAndReserve(first: { key: string; limit: number; windowSeconds: number }, second: { key: string; limit: number; windowSeconds: number }, lease: string) {
    const now = this.clock.now();
    return this.counters.countAndReserve(
      { key: first.key, limit: first.limit, expiresAt: addSeconds(now, first.windowSeconds) },
      { key: second.key, limit: second.limit, expiresAt: addSeconds(now, second.windowSeconds) },
      lease,
      now,
    );
  }

  /** Counts one request against `max` per window; over it, a 429 with Retry-After. */
  async enforce(key: string, max: number, windowSeconds: number): Promise<void> {
    const state = await this.hit(key, windowSeconds);
    if (state.count > max) throw new ApiError('tooManyRequests', { retryAfter: state.retryAfter, internal: key });
  }

  /** Holds the window open for `seconds` from now: a temporary lockout. */
  async extend(key: string, seconds: number): Promise<void> {
    const now = this.clock.now();
    await this.counters.extendLive(key, now, addSeconds(now, seconds));
  }

  /**
   * Ends a reservation made under `lease`: it stays counted, or with `withdraw` it is taken back.
   * Returns how many settled attempts the window holds after it (null: the window it was made in
   * is gone, and nothing changed).
   */
  async settle(key: string, lease: string, withdraw: boolean): Promise<number | null> {
    const after = await this.counters.settle(key, lease, withdraw);
    return after ? after.count - (after.leases?.length ?? 0) : null;
  }

  /** Starts the count again (cleared in place; reservations made before no longer count). */
  async reset(key: string): Promise<void> {
    await this.counters.clear(key);
  }
}

function secondsUntil(date: Date, now: Date): number {
  return Math.max(1, Math.ceil((date.getTime() - now.getTime()) / 1000));
}
