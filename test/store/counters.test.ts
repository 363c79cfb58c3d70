import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CounterDoc, CounterStore } from '../../handlers/store/counters.ts';
import type { Database } from '../../handlers/store/database.ts';
import { openTestStore } from '../support/store.ts';

const minute = 60_000;

describe('CounterStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let counters: CounterStore;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);
  const raw = () => database.db.collection<CounterDoc>('counters');
  const window = (fields: Partial<CounterDoc> & { _id: string }): CounterDoc => ({ count: 3, window_started_at: at(-minute), expires_at: at(minute), ...fields });
  const stored = (key: string) => raw().findOne({ _id: key });

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    counters = database.counters;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  describe('incrementOrOpen', () => {
    it('counts one more in a live window and returns it', async () => {
      await raw().insertOne(window({ _id: 'k' }));
      expect(await counters.incrementOrOpen('k', now, at(5 * minute))).toEqual(window({ _id: 'k', count: 4 }));
      expect((await stored('k'))?.count).toBe(4);
    });

    it('opens a first window at 1 where the key has none', async () => {
      expect(await counters.incrementOrOpen('k', now, at(minute))).toEqual({ _id: 'k', count: 1, window_started_at: now, expires_at: at(minute) });
      expect(await stored('k')).toEqual({ _id: 'k', count: 1, window_started_at: now, expires_at: at(minute) });
    });

    it('refuses an expired window that is still stored (expiry is checked, not left to TTL), and leaves it alone', async () => {
      await raw().insertOne(window({ _id: 'k', expires_at: now }));
      expect(await counters.incrementOrOpen('k', now, at(minute))).toBeNull();
      expect(await stored('k')).toEqual(window({ _id: 'k', expires_at: now }));
    });

    it('N parallel increments are all counted, each sees its own count', async () => {
      await raw().insertOne(window({ _id: 'k', count: 0 }));
      const results = await Promise.all(Array.from({ length: 10 }, () => counters.incrementOrOpen('k', now, at(minute))));
      expect(results.map((r) => r!.count).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it('of N parallel first windows one document is made; the callers that lost the race get null or a count on it', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => counters.incrementOrOpen('k', now, at(minute))));
      expect(await raw().countDocuments({ _id: 'k' })).toBe(1);
      const counts = results.filter((r) => r !== null).map((r) => r!.count);
      expect(new Set(counts).size).toBe(counts.length);
      expect((await stored('k'))?.count).toBe(counts.length);
    });
  });

  describe('restartExpired', () => {
    it('starts a new window at 1 over an expired one', async () => {
      await raw().insertOne(window({ _id: 'k', count: 9, expires_at: at(-1) }));
      expect(await counters.restartExpired('k', now, at(5 * minute))).toEqual({ _id: 'k', count: 1, window_started_at: now, expires_at: at(5 * minute) });
    });

    it('leaves a live window alone, and does not create an absent one', async () => {
      await raw().insertOne(window({ _id: 'k' }));
      expect(await counters.restartExpired('k', now, at(5 * minute))).toBeNull();
      expect(await stored('k')).toEqual(window({ _id: 'k' }));
      expect(await counters.restartExpired('absent', now, at(minute))).toBeNull();
      expect(await stored('absent')).toBeNull();
    });

    it('of N parallel restarts of one expired window exactly one wins', async () => {
      await raw().insertOne(window({ _id: 'k', expires_at: at(-1) }));
      const results = await Promise.all(Array.from({ length: 10 }, () => counters.restartExpired('k', now, at(minute))));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });
  });

  describe('extendLive', () => {
    it('holds a live window open until the later date', async () => {
      await raw().insertOne(window({ _id: 'k' }));
      await counters.extendLive('k', now, at(10 * minute));
      expect((await stored('k'))?.expires_at).toEqual(at(10 * minute));
    });

    it('never shortens a window', async () => {
      await raw().insertOne(window({ _id: 'k', expires_at: at(10 * minute) }));
      await counters.extendLive('k', now, at(minute));
      expect((await stored('k'))?.expires_at).toEqual(at(10 * minute));
    });

    it('leaves an expired window dead and creates nothing', async () => {
      await raw().insertOne(window({ _id: 'k', expires_at: at(-1) }));
      await counters.extendLive('k', now, at(10 * minute));
      expect((await stored('k'))?.expires_at).toEqual(at(-1));
      await counters.extendLive('absent', now, at(minute));
      expect(await stored('absent')).toBeNull();
    });
  });

  describe('reservations', () => {
    it('a reservation opens or restarts a window with an id and counts in flight; a plain increment does not touch them', async () => {
      expect(await counters.incrementOrOpen('r', now, at(minute), { windowId: 'w1' })).toMatchObject({ count: 1, inflight: 1, window_id: 'w1' });
      expect(await stored('r')).toMatchObject({ count: 1, inflight: 1, window_id: 'w1' });
      // A live window keeps its id: the reservation counts in it.
      expect(await counters.incrementOrOpen('r', now, at(minute), { windowId: 'ignored' })).toMatchObject({ count: 2, inflight: 2, window_id: 'w1' });
      expect(await counters.incrementOrOpen('r', now, at(minute))).toMatchObject({ count: 3, inflight: 2 });
      await raw().updateOne({ _id: 'r' }, { $set: { expires_at: at(-1) } });
      expect(await counters.restartExpired('r', now, at(minute), { windowId: 'w2' })).toMatchObject({ count: 1, inflight: 1, window_id: 'w2' });
    });

    it('settle keeps the attempt counted or withdraws it, only in the window it was made in', async () => {
      await counters.incrementOrOpen('r', now, at(minute), { windowId: 'w1' });
      await counters.incrementOrOpen('r', now, at(minute), { windowId: 'later' });
      await counters.settle('r', 'w1', false);
      expect(await stored('r')).toMatchObject({ count: 2, inflight: 1 });
      await counters.settle('r', 'w1', true);
      expect(await stored('r')).toMatchObject({ count: 1, inflight: 0 });
      // Nothing in flight any more, or another window: nothing changes.
      await counters.settle('r', 'w1', true);
      await counters.incrementOrOpen('r', now, at(minute), { windowId: 'later' });
      await counters.settle('r', 'other-window', true);
      expect(await stored('r')).toMatchObject({ count: 2, inflight: 1 });
      await counters.settle('absent', 'w1', true);
      expect(await stored('absent')).toBeNull();
    });

    it('clear starts the count again in place, and reservations made before it no longer settle', async () => {
      await counters.incrementOrOpen('r', now, at(minute), { windowId: 'w1' });
      await counters.incrementOrOpen('r', now, at(minute), { windowId: 'later' });
      await counters.clear('r', 'w2');
      expect(await stored('r')).toMatchObject({ count: 0, inflight: 0, window_id: 'w2', expires_at: at(minute) });
      await counters.settle('r', 'w1', true);
      expect(await counters.incrementOrOpen('r', now, at(minute), { windowId: 'later' })).toMatchObject({ count: 1, inflight: 1, window_id: 'w2' });
      await counters.clear('absent', 'w');
      expect(await stored('absent')).toBeNull();
    });

    it('N parallel reservations and settlements lose no update', async () => {
      await counters.incrementOrOpen('r', now, at(minute), { windowId: 'w' });
      await Promise.all(Array.from({ length: 10 }, () => counters.incrementOrOpen('r', now, at(minute), { windowId: 'later' })));
      await Promise.all(Array.from({ length: 10 }, (_, i) => counters.settle('r', 'w', i % 2 === 0)));
      expect(await stored('r')).toMatchObject({ count: 6, inflight: 1 });
    });
  });

  describe('delete', () => {
    it('removes the window of that key only; an absent key is no error', async () => {
      await raw().insertMany([window({ _id: 'a' }), window({ _id: 'b' })]);
      await counters.delete('a');
      await counters.delete('absent');
      expect((await raw().find({}).toArray()).map((d) => d._id)).toEqual(['b']);
    });
  });
});
