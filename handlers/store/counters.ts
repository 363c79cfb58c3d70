import type { Collection } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export interface CounterDoc {
  _id: string;
  count: number;
  window_started_at: Date;
  expires_at: Date;
  /**
   * Reservations (attempts counted but not yet settled) in this window; only counters used with
   * reservations have it. `count - inflight` is what settled attempts have used of the window.
   */
  inflight?: number;
  /** Identifies the window, so a reservation settles only the window it was made in. */
  window_id?: string;
}

/** A reservation opens a window with an id and counts as in flight until settled. */
export interface Reservation {
  windowId: string;
}

/** `counters`: its indexes and expiry. */
export const countersCollection = defineCollection<CounterDoc>({
  name: 'counters',
  indexes: [],
  expiry: { field: 'expires_at', marginSeconds: 0 },
});

/**
 * Fixed-window counters on `counters`, by key. Each method is one atomic operation whose filter
 * checks the window's expiry, so racing callers never both act on the same live or dead window.
 */
export class CounterStore {
  constructor(private readonly counters: Collection<CounterDoc>) {}

  /**
   * Counts one more in the live window, or opens a first one at 1 when the key has none: one
   * command either way (an upsert whose filter checks expiry). With `reservation`, the attempt is
   * also one more in flight, and a new window gets the reservation's id. Null when an expired
   * window is still stored (the upsert collides with it on _id; see restartExpired) or a racing
   * caller opened the window first: the caller tries again.
   */
  async incrementOrOpen(key: string, now: Date, expiresAt: Date, reservation?: Reservation): Promise<CounterDoc | null> {
    try {
      return await this.counters.findOneAndUpdate(
        { _id: key, expires_at: { $gt: now } },
        {
          $inc: reservation ? { count: 1, inflight: 1 } : { count: 1 },
          $setOnInsert: { window_started_at: now, expires_at: expiresAt, ...(reservation ? { window_id: reservation.windowId } : {}) },
        },
        { upsert: true, returnDocument: 'after' },
      );
    } catch (error) {
      if (isDuplicateKey(error)) return null;
      throw error;
    }
  }

  /** Starts a new window at 1 over an expired one; null when the window is live or absent. */
  restartExpired(key: string, now: Date, expiresAt: Date, reservation?: Reservation): Promise<CounterDoc | null> {
    return this.counters.findOneAndUpdate(
      { _id: key, expires_at: { $lte: now } },
      { $set: { count: 1, window_started_at: now, expires_at: expiresAt, ...(reservation ? { inflight: 1, window_id: reservation.windowId } : {}) } },
      { returnDocument: 'after' },
    );
  }

  /** Holds a live window open until at least `until` (never shortens it); a dead one stays dead. */
  async extendLive(key: string, now: Date, until: Date): Promise<void> {
    await this.counters.updateOne({ _id: key, expires_at: { $gt: now } }, { $max: { expires_at: until } });
  }

  /**
   * Settles one reservation of the window `windowId` (null: a window from before reservations):
   * it is no longer in flight, and with `withdraw` it stops counting at all. Nothing happens when
   * that window is gone (reset, or restarted after expiry), so an old reservation never frees a
   * slot of a newer window.
   */
  async settle(key: string, windowId: string | null, withdraw: boolean): Promise<void> {
    await this.counters.updateOne({ _id: key, window_id: windowId ?? { $exists: false }, inflight: { $gt: 0 } }, { $inc: withdraw ? { count: -1, inflight: -1 } : { inflight: -1 } });
  }

  /**
   * Clears a window in place: count 0, nothing in flight, a new window id (so reservations made
   * before are settled as no-ops). Unlike delete, racing callers keep counting on the same
   * document instead of racing to create a new one.
   */
  async clear(key: string, windowId: string): Promise<void> {
    await this.counters.updateOne({ _id: key }, { $set: { count: 0, inflight: 0, window_id: windowId } });
  }

  async delete(key: string): Promise<void> {
    await this.counters.deleteOne({ _id: key });
  }
}
