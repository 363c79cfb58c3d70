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

  /** Counts one more in the live window (with `reservation`, also one more in flight); null when there is none (absent or expired). */
  incrementLive(key: string, now: Date, reservation?: boolean): Promise<CounterDoc | null> {
    return this.counters.findOneAndUpdate({ _id: key, expires_at: { $gt: now } }, { $inc: reservation ? { count: 1, inflight: 1 } : { count: 1 } }, { returnDocument: 'after' });
  }

  /** Starts a new window at 1 over an expired one; null when the window is live or absent. */
  restartExpired(key: string, now: Date, expiresAt: Date, reservation?: Reservation): Promise<CounterDoc | null> {
    return this.counters.findOneAndUpdate(
      { _id: key, expires_at: { $lte: now } },
      { $set: { count: 1, window_started_at: now, expires_at: expiresAt, ...(reservation ? { inflight: 1, window_id: reservation.windowId } : {}) } },
      { returnDocument: 'after' },
    );
  }

  /** Opens a first window at 1; false when a window for the key exists (someone else made it). */
  async insertWindow(key: string, now: Date, expiresAt: Date, reservation?: Reservation): Promise<boolean> {
    try {
      await this.counters.insertOne({ _id: key, count: 1, window_started_at: now, expires_at: expiresAt, ...(reservation ? { inflight: 1, window_id: reservation.windowId } : {}) });
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
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
