import { MongoBulkWriteError, type Collection } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export interface CounterDoc {
  _id: string;
  count: number;
  window_started_at: Date;
  expires_at: Date;
  /**
   * Reservations (attempts counted but not yet settled) in this window, one lease id each; only
   * counters used with reservations have them. `count - leases.length` is what settled attempts
   * have used of the window. A window's leases go with it (reset, or restarted after expiry), so
   * an old reservation never settles a newer window.
   */
  leases?: string[];
}

/** Why a two-statement count-and-reserve took no reservation (see CounterStore.countAndReserve). */
export type CountAndReserveOutcome = 'reserved' | 'first-refused' | 'second-refused';

/** `counters`: its indexes and expiry. */
export const countersCollection = defineCollection<CounterDoc>({
  name: 'counters',
  indexes: [],
  expiry: { field: 'expires_at', marginSeconds: 0 },
});

/** One key's counting step: under `limit` in its live window, or opening a first one. */
export interface GuardedCount {
  key: string;
  /** The count must be below this before the step (so at most `limit` after it). */
  limit: number;
  expiresAt: Date;
}

/**
 * Fixed-window counters on `counters`, by key. Each method is one atomic operation whose filter
 * checks the window's expiry, so racing callers never both act on the same live or dead window.
 */
export class CounterStore {
  constructor(private readonly counters: Collection<CounterDoc>) {}

  /**
   * Counts one more in the live window, or opens a first one at 1 when the key has none: one
   * command either way (an upsert whose filter checks expiry). With `lease`, the attempt is also
   * in flight under that lease until settled. Null when an expired window is still stored (the
   * upsert collides with it on _id; see restartExpired) or a racing caller opened the window
   * first: the caller tries again.
   */
  async incrementOrOpen(key: string, now: Date, expiresAt: Date, lease?: string): Promise<CounterDoc | null> {
    try {
      return await this.counters.findOneAndUpdate(
        { _id: key, expires_at: { $gt: now } },
        { $inc: { count: 1 }, ...(lease ? { $push: { leases: lease } } : {}), $setOnInsert: { window_started_at: now, expires_at: expiresAt } },
        { upsert: true, returnDocument: 'after' },
      );
    } catch (error) {
      if (isDuplicateKey(error)) return null;
      throw error;
    }
  }

  /**
   * Two guarded counting steps in one command, in order: `first` is counted, then `second` is
   * counted with `lease` in flight, each only when it is under its limit in a live window (or opens
   * its first one). The statements are ordered, so when the first is refused the second is not
   * tried; 'second-refused' means the first took effect. A refusal is a full window, an expired
   * one still stored, or a window a racing caller has just opened: the caller settles it step by
   * step (incrementOrOpen, restartExpired), which can tell them apart.
   */
  async countAndReserve(first: GuardedCount, second: GuardedCount, lease: string, now: Date): Promise<CountAndReserveOutcome> {
    const step = (guard: GuardedCount, withLease: boolean) => ({
      updateOne: {
        filter: { _id: guard.key, expires_at: { $gt: now }, count: { $lt: guard.limit } },
        update: { $inc: { count: 1 }, ...(withLease ? { $push: { leases: lease } } : {}), $setOnInsert: { window_started_at: now, expires_at: guard.expiresAt } },
        upsert: true,
      },
    });
    try {
      await this.counters.bulkWrite([step(first, false), step(second, true)], { ordered: true });
      return 'reserved';
    } catch (error) {
      const refused = refusedStatement(error);
      if (refused === undefined) throw error;
      return refused === 0 ? 'first-refused' : 'second-refused';
    }
  }

  /** Starts a new window at 1 over an expired one (with `lease` its only reservation); null when the window is live or absent. */
  restartExpired(key: string, now: Date, expiresAt: Date, lease?: string): Promise<CounterDoc | null> {
    return this.counters.findOneAndUpdate(
      { _id: key, expires_at: { $lte: now } },
      { $set: { count: 1, window_started_at: now, expires_at: expiresAt, ...(lease ? { leases: [lease] } : {}) } },
      { returnDocument: 'after' },
    );
  }

  /** Holds a live window open until at least `until` (never shortens it); a dead one stays dead. */
  async extendLive(key: string, now: Date, until: Date): Promise<void> {
    await this.counters.updateOne({ _id: key, expires_at: { $gt: now } }, { $max: { expires_at: until } });
  }

  /**
   * Settles one reservation: it is no longer in flight, and with `withdraw` it stops counting at
   * all. Returns the window after it, or null when the lease is not in the window any more (the
   * window was reset or restarted after expiry): then nothing changes, so an old reservation never
   * frees a slot of a newer window.
   */
  settle(key: string, lease: string, withdraw: boolean): Promise<CounterDoc | null> {
    return this.counters.findOneAndUpdate({ _id: key, leases: lease }, { $pull: { leases: lease }, ...(withdraw ? { $inc: { count: -1 } } : {}) }, { returnDocument: 'after' });
  }

  /**
   * Clears a window in place: count 0, nothing in flight (reservations made before settle as
   * no-ops). Unlike delete, racing callers keep counting on the same document instead of racing
   * to create a new one.
   */
  async clear(key: string): Promise<void> {
    await this.counters.updateOne({ _id: key }, { $set: { count: 0, leases: [] } });
  }

  async delete(key: string): Promise<void> {
    await this.counters.deleteOne({ _id: key });
  }
}

/** The index of the statement an ordered bulk write refused with a duplicate key (a failed guard); undefined for any other error. */
function refusedStatement(error: unknown): number | undefined {
  if (!(error instanceof MongoBulkWriteError)) return undefined;
  const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  const first = errors[0];
  if (errors.length !== 1 || !first || first.code !== 11000) return undefined;
  return first.index;
}
