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
    it('a reservation opens or restarts a window with its lease in flight; a plain increment adds none', async () => {
      expect(await counters.incrementOrOpen('r', now, at(minute), 'L1')).toMatchObject({ count: 1, leases: ['L1'] });
      expect(await stored('r')).toMatchObject({ count: 1, leases: ['L1'] });
      expect(await counters.incrementOrOpen('r', now, at(minute), 'L2')).toMatchObject({ count: 2, leases: ['L1', 'L2'] });
      expect(await counters.incrementOrOpen('r', now, at(minute))).toMatchObject({ count: 3, leases: ['L1', 'L2'] });
      // A restarted window keeps none of the old one's leases.
      await raw().updateOne({ _id: 'r' }, { $set: { expires_at: at(-1) } });
      expect(await counters.restartExpired('r', now, at(minute), 'L3')).toMatchObject({ count: 1, leases: ['L3'] });
    });

    it('settle keeps the attempt counted or withdraws it, only while its lease is in the window, and returns the window', async () => {
      await counters.incrementOrOpen('r', now, at(minute), 'L1');
      await counters.incrementOrOpen('r', now, at(minute), 'L2');
      expect(await counters.settle('r', 'L1', false)).toMatchObject({ count: 2, leases: ['L2'] });
      expect(await counters.settle('r', 'L2', true)).toMatchObject({ count: 1, leases: [] });
      // Settled already, never made, or no window: nothing changes.
      expect(await counters.settle('r', 'L2', true)).toBeNull();
      expect(await counters.settle('r', 'other', true)).toBeNull();
      expect(await stored('r')).toMatchObject({ count: 1, leases: [] });
      expect(await counters.settle('absent', 'L1', true)).toBeNull();
      expect(await stored('absent')).toBeNull();
    });

    it('clear starts the count again in place, and reservations made before it no longer settle', async () => {
      await counters.incrementOrOpen('r', now, at(minute), 'L1');
      await counters.incrementOrOpen('r', now, at(minute), 'L2');
      await counters.clear('r');
      expect(await stored('r')).toMatchObject({ count: 0, leases: [], expires_at: at(minute) });
      expect(await counters.settle('r', 'L1', true)).toBeNull();
      expect(await counters.incrementOrOpen('r', now, at(minute), 'L3')).toMatchObject({ count: 1, leases: ['L3'] });
      await counters.clear('absent');
      expect(await stored('absent')).toBeNull();
    });

    it('N parallel reservations and settlements lose no update', async () => {
      const leases = Array.from({ length: 10 }, (_, i) => `L${i}`);
      await Promise.all(leases.map((lease) => counters.incrementOrOpen('r', now, at(minute), lease)));
      await Promise.all(leases.map((lease, i) => counters.settle('r', lease, i % 2 === 0)));
      expect(await stored('r')).toMatchObject({ count: 5, leases: [] });
    });
  });

  describe('countAndReserve', () => {
    const guard = (key: string, limit: number) => ({ key, limit, expiresAt: at(minute) });

    it('counts the first key and reserves on the second in one command, opening windows that are absent', async () => {
      expect(await counters.countAndReserve(guard('ip', 5), guard('acct', 3), 'L1', now)).toBe('reserved');
      expect(await stored('ip')).toEqual({ _id: 'ip', count: 1, window_started_at: now, expires_at: at(minute) });
      expect(await stored('acct')).toEqual({ _id: 'acct', count: 1, leases: ['L1'], window_started_at: now, expires_at: at(minute) });
      expect(await counters.countAndReserve(guard('ip', 5), guard('acct', 3), 'L2', now)).toBe('reserved');
      expect(await stored('ip')).toMatchObject({ count: 2 });
      expect(await stored('acct')).toMatchObject({ count: 2, leases: ['L1', 'L2'] });
    });

    it('a first key at its limit, or expired but stored, refuses before the second is touched', async () => {
      await raw().insertMany([window({ _id: 'full', count: 5 }), window({ _id: 'dead', expires_at: at(-1) })]);
      expect(await counters.countAndReserve(guard('full', 5), guard('acct', 3), 'L1', now)).toBe('first-refused');
      expect(await counters.countAndReserve(guard('dead', 5), guard('acct', 3), 'L1', now)).toBe('first-refused');
      expect(await stored('full')).toEqual(window({ _id: 'full', count: 5 }));
      expect(await stored('dead')).toEqual(window({ _id: 'dead', expires_at: at(-1) }));
      expect(await stored('acct')).toBeNull();
    });

    it('a second key at its limit, or expired but stored, refuses after the first was counted', async () => {
      await raw().insertMany([window({ _id: 'locked', count: 3 }), window({ _id: 'dead', expires_at: at(-1) })]);
      expect(await counters.countAndReserve(guard('ip', 5), guard('locked', 3), 'L1', now)).toBe('second-refused');
      expect(await counters.countAndReserve(guard('ip', 5), guard('dead', 3), 'L2', now)).toBe('second-refused');
      expect(await stored('ip')).toMatchObject({ count: 2 });
      expect(await stored('locked')).toEqual(window({ _id: 'locked', count: 3 }));
      expect(await stored('dead')).toEqual(window({ _id: 'dead', expires_at: at(-1) }));
    });

    it('of N parallel reservations at most the limit are taken; the rest are refused, nothing lost', async () => {
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => counters.countAndReserve(guard('ip', 100), guard('acct', 3), `L${i}`, now)));
      const reserved = outcomes.filter((o) => o === 'reserved').length;
      expect(reserved).toBeLessThanOrEqual(3);
      expect(outcomes.filter((o) => o !== 'reserved').every((o) => o === 'second-refused')).toBe(true);
      const acct = await stored('acct');
      expect(acct?.count).toBe(reserved);
      expect(acct?.leases).toHaveLength(reserved);
      expect((await stored('ip'))?.count).toBe(10);
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
