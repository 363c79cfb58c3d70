import type { CounterStore } from '../../store/counters.ts';
import { ApiError } from '../../core/errors.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

export interface CounterState {
  count: number;
  /** Seconds until the window (or lockout) ends. */
  retryAfter: number;
}

/**
 * Fixed-window counters in MongoDB shared by every replica. Each step is a single atomic
 * operation (conditional $inc, conditional window reset, insert guarded by the unique _id), so
 * concurrent requests can never both see "under the limit" past it. TTL only tidies up; expiry is
 * checked in every filter.
 */
export class AttemptCounter {
  constructor(
    private readonly counters: CounterStore,
    private readonly clock: Clock,
  ) {}

  /** Counts one attempt and returns the new count. */
  async hit(key: string, windowSeconds: number): Promise<CounterState> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = this.clock.now();
      const live = await this.counters.incrementLive(key, now);
      if (live) return { count: live.count, retryAfter: secondsUntil(live.expires_at, now) };
      const restarted = await this.counters.restartExpired(key, now, addSeconds(now, windowSeconds));
      if (restarted) return { count: 1, retryAfter: windowSeconds };
      if (await this.counters.insertWindow(key, now, addSeconds(now, windowSeconds))) return { count: 1, retryAfter: windowSeconds };
      // Someone else created the window between our steps: count against theirs.
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

  async reset(key: string): Promise<void> {
    await this.counters.delete(key);
  }
}

function secondsUntil(date: Date, now: Date): number {
  return Math.max(1, Math.ceil((date.getTime() - now.getTime()) / 1000));
}
