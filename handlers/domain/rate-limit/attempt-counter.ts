import { randomBytes } from 'node:crypto';
import type { CounterStore } from '../../store/counters.ts';
import { ApiError } from '../../core/errors.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

export interface CounterState {
  count: number;
  /** Seconds until the window (or lockout) ends. */
  retryAfter: number;
  /** Reservations only: how many of `count` are still in flight (this one included), and the window they belong to. */
  inflight?: number;
  windowId?: string | null;
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
   * Counts one attempt and returns the new count. With `reserve`, the attempt is also in flight
   * until `settle` says how it ended (see LoginThrottle), and the state names its window.
   */
  async hit(key: string, windowSeconds: number, reserve = false): Promise<CounterState> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = this.clock.now();
      const reservation = reserve ? { windowId: randomBytes(12).toString('base64url') } : undefined;
      // The common cases, a live window or none at all (TTL removed the last), are one command.
      const counted = await this.counters.incrementOrOpen(key, now, addSeconds(now, windowSeconds), reservation);
      if (counted) return { count: counted.count, retryAfter: secondsUntil(counted.expires_at, now), ...(reserve ? { inflight: counted.inflight ?? 1, windowId: counted.window_id ?? null } : {}) };
      // An expired window TTL has not removed yet, or one a racing caller has just opened.
      const restarted = await this.counters.restartExpired(key, now, addSeconds(now, windowSeconds), reservation);
      if (restarted) return { count: 1, retryAfter: windowSeconds, ...(reservation ? { inflight: 1, windowId: reservation.windowId } : {}) };
    }
    throw new Error(`attempt counter ${key} kept changing under contention`);
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

  /** Ends a reservation made by `hit(…, true)`: it stays counted, or with `withdraw` it is taken back. */
  async settle(key: string, windowId: string | null, withdraw: boolean): Promise<void> {
    await this.counters.settle(key, windowId, withdraw);
  }

  /** Starts the count again (cleared in place; reservations made before no longer count). */
  async reset(key: string): Promise<void> {
    await this.counters.clear(key, randomBytes(12).toString('base64url'));
  }
}

function secondsUntil(date: Date, now: Date): number {
  return Math.max(1, Math.ceil((date.getTime() - now.getTime()) / 1000));
}
