import type { Collection } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export interface CounterDoc {
  _id: string;
  count: number;
  window_started_at: Date;
  expires_at: Date;
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

  /** Counts one more in the live window; null when there is none (absent or expired). */
  incrementLive(key: string, now: Date): Promise<CounterDoc | null> {
    return this.counters.findOneAndUpdate({ _id: key, expires_at: { $gt: now } }, { $inc: { count: 1 } }, { returnDocument: 'after' });
  }

  /** Starts a new window at 1 over an expired one; null when the window is live or absent. */
  restartExpired(key: string, now: Date, expiresAt: Date): Promise<CounterDoc | null> {
    return this.counters.findOneAndUpdate(
      { _id: key, expires_at: { $lte: now } },
      { $set: { count: 1, window_started_at: now, expires_at: expiresAt } },
      { returnDocument: 'after' },
    );
  }

  /** Opens a first window at 1; false when a window for the key exists (someone else made it). */
  async insertWindow(key: string, now: Date, expiresAt: Date): Promise<boolean> {
    try {
      await this.counters.insertOne({ _id: key, count: 1, window_started_at: now, expires_at: expiresAt });
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

  async delete(key: string): Promise<void> {
    await this.counters.deleteOne({ _id: key });
  }
}
