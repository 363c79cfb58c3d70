import { ObjectId } from 'mongodb';
import type { CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { SessionDoc, SessionStore } from '../../handlers/store/sessions.ts';
import { EXTENDS_ONLY } from '../../handlers/store/write-monitor.ts';
import { openTestStore } from '../support/store.ts';

const minute = 60_000;

describe('SessionStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let sessions: SessionStore;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);

  const session = (fields: Partial<SessionDoc> = {}): SessionDoc => ({
    _id: new ObjectId(),
    tenant_id: new ObjectId(),
    user_id: new ObjectId(),
    remember_me: false,
    amr: ['pwd'],
    client_ip: '192.0.2.1',
    user_agent: 'test',
    created_at: at(-10 * minute),
    last_seen_at: at(-10 * minute),
    idle_expires_at: at(30 * minute),
    absolute_expires_at: at(60 * minute),
    revoked_at: null,
    revoked_reason: null,
    ...fields,
  });
  const raw = () => database.db.collection<SessionDoc>('sessions');

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    sessions = database.sessions;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the document as given; findById reads it in any state', async () => {
    const live = session();
    const revoked = session({ revoked_at: at(-minute), revoked_reason: 'logout' });
    await sessions.insert(live);
    await sessions.insert(revoked);
    expect(await raw().findOne({ _id: live._id })).toEqual(live);
    expect(await sessions.findById(live._id)).toEqual(live);
    expect(await sessions.findById(revoked._id)).toEqual(revoked);
    expect(await sessions.findById(new ObjectId())).toBeNull();
  });

  it('insert refuses a duplicate _id (code 11000)', async () => {
    const doc = session();
    await sessions.insert(doc);
    await expect(sessions.insert({ ...doc })).rejects.toMatchObject({ code: 11000 });
  });

  it('findActive returns only unrevoked sessions within both lifetimes', async () => {
    const live = session();
    const revoked = session({ revoked_at: at(-minute), revoked_reason: 'x' });
    const idle = session({ idle_expires_at: now });
    const absolute = session({ absolute_expires_at: at(-minute) });
    for (const doc of [live, revoked, idle, absolute]) await sessions.insert(doc);
    expect(await sessions.findActive(live._id, now)).toEqual(live);
    expect(await sessions.findActive(revoked._id, now)).toBeNull();
    expect(await sessions.findActive(idle._id, now)).toBeNull();
    expect(await sessions.findActive(absolute._id, now)).toBeNull();
    expect(await sessions.findActive(new ObjectId(), now)).toBeNull();
  });

  it('touch slides the idle expiry of a live session and returns it after the update, marked extends-only', async () => {
    const doc = session();
    await sessions.insert(doc);
    const comments: unknown[] = [];
    const listener = (event: CommandStartedEvent) => {
      if (event.commandName === 'findAndModify' && event.command.findAndModify === 'sessions') comments.push(event.command.comment);
    };
    database.client.on('commandStarted', listener);
    try {
      const touched = await sessions.touch(doc._id, false, now, at(45 * minute));
      expect(touched).toEqual({ ...doc, last_seen_at: now, idle_expires_at: at(45 * minute) });
    } finally {
      database.client.off('commandStarted', listener);
    }
    expect(comments).toEqual([EXTENDS_ONLY]);
    expect(await raw().findOne({ _id: doc._id })).toMatchObject({ last_seen_at: now, idle_expires_at: at(45 * minute) });
  });

  it('touch refuses a session with the other remember-me setting, revoked, or expired, and changes nothing', async () => {
    const rememberMe = session({ remember_me: true });
    const revoked = session({ revoked_at: at(-minute), revoked_reason: 'x' });
    const idle = session({ idle_expires_at: at(-minute) });
    const absolute = session({ absolute_expires_at: now });
    for (const doc of [rememberMe, revoked, idle, absolute]) await sessions.insert(doc);
    expect(await sessions.touch(rememberMe._id, false, now, at(45 * minute))).toBeNull();
    expect(await sessions.touch(revoked._id, false, now, at(45 * minute))).toBeNull();
    expect(await sessions.touch(idle._id, false, now, at(45 * minute))).toBeNull();
    expect(await sessions.touch(absolute._id, false, now, at(45 * minute))).toBeNull();
    expect(await sessions.touch(new ObjectId(), false, now, at(45 * minute))).toBeNull();
    for (const doc of [rememberMe, revoked, idle, absolute]) expect(await raw().findOne({ _id: doc._id })).toEqual(doc);
    expect(await sessions.touch(rememberMe._id, true, now, at(45 * minute))).toMatchObject({ _id: rememberMe._id, last_seen_at: now });
  });

  it('revoke revokes once: true, then false; unknown is false', async () => {
    const doc = session();
    await sessions.insert(doc);
    expect(await sessions.revoke(doc._id, 'logout', now)).toBe(true);
    expect(await raw().findOne({ _id: doc._id })).toMatchObject({ revoked_at: now, revoked_reason: 'logout' });
    expect(await sessions.revoke(doc._id, 'again', at(minute))).toBe(false);
    expect(await raw().findOne({ _id: doc._id })).toMatchObject({ revoked_at: now, revoked_reason: 'logout' });
    expect(await sessions.revoke(new ObjectId(), 'logout', now)).toBe(false);
  });

  it('revoke race: of 10 parallel revocations exactly one wins and its reason stays', async () => {
    const doc = session();
    await sessions.insert(doc);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => sessions.revoke(doc._id, `reason ${i}`, now)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(await raw().findOne({ _id: doc._id })).toMatchObject({ revoked_reason: `reason ${winner}` });
  });

  it('findUnrevokedIdsForUser lists the user\'s unrevoked sessions (expired ones too), sparing `except`', async () => {
    const userId = new ObjectId();
    const a = session({ user_id: userId });
    const b = session({ user_id: userId, absolute_expires_at: at(-minute) });
    const c = session({ user_id: userId });
    const revoked = session({ user_id: userId, revoked_at: at(-minute), revoked_reason: 'x' });
    const other = session();
    for (const doc of [a, b, c, revoked, other]) await sessions.insert(doc);
    const hex = (ids: ObjectId[]) => ids.map((id) => id.toHexString()).sort();
    expect(hex(await sessions.findUnrevokedIdsForUser(userId))).toEqual(hex([a._id, b._id, c._id]));
    expect(hex(await sessions.findUnrevokedIdsForUser(userId, c._id))).toEqual(hex([a._id, b._id]));
    expect(await sessions.findUnrevokedIdsForUser(new ObjectId())).toEqual([]);
  });

  it('revokeMany revokes the unrevoked ones among ids and counts them', async () => {
    const a = session();
    const b = session();
    const already = session({ revoked_at: at(-minute), revoked_reason: 'earlier' });
    const untouched = session();
    for (const doc of [a, b, already, untouched]) await sessions.insert(doc);
    expect(await sessions.revokeMany([], 'none', now)).toBe(0);
    expect(await sessions.revokeMany([a._id, b._id, already._id], 'password changed', now)).toBe(2);
    expect(await raw().findOne({ _id: a._id })).toMatchObject({ revoked_at: now, revoked_reason: 'password changed' });
    expect(await raw().findOne({ _id: already._id })).toMatchObject({ revoked_at: at(-minute), revoked_reason: 'earlier' });
    expect(await raw().findOne({ _id: untouched._id })).toMatchObject({ revoked_at: null });
    expect(await sessions.revokeMany([a._id, b._id], 'again', now)).toBe(0);
  });

  it('revokeMany race: parallel calls over the same sessions revoke each exactly once', async () => {
    const docs = Array.from({ length: 5 }, () => session());
    for (const doc of docs) await sessions.insert(doc);
    const ids = docs.map((d) => d._id);
    const counts = await Promise.all(Array.from({ length: 6 }, () => sessions.revokeMany(ids, 'disabled', now)));
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(5);
    expect(await raw().countDocuments({ revoked_at: null })).toBe(0);
  });

  describe('rotateRefresh (a derived family on the session)', () => {
    const family = (nonce = 'n0', generation = 0) => ({ nonce, generation, rotated_at: null });

    it('rotates the current generation in one write: next generation, its time and the idle expiry', async () => {
      const doc = session({ refresh: family('n0', 0) });
      await sessions.insert(doc);
      const after = await sessions.rotateRefresh(doc._id, { nonce: 'n0', generation: 0 }, now, at(45 * minute));
      expect(after?.refresh).toEqual({ nonce: 'n0', generation: 1, rotated_at: now });
      expect(after?.idle_expires_at).toEqual(at(45 * minute));
      expect(after?.last_seen_at).toEqual(now);
      const again = await sessions.rotateRefresh(doc._id, { nonce: 'n0', generation: 1 }, at(minute), at(46 * minute));
      expect(again?.refresh).toEqual({ nonce: 'n0', generation: 2, rotated_at: at(minute) });
    });

    it('refuses another family or generation, another client, and a revoked or expired session', async () => {
      const doc = session({ refresh: family('n0', 3) });
      await sessions.insert(doc);
      expect(await sessions.rotateRefresh(doc._id, { nonce: 'other', generation: 3 }, now, at(minute))).toBeNull();
      expect(await sessions.rotateRefresh(doc._id, { nonce: 'n0', generation: 2 }, now, at(minute))).toBeNull();
      expect(await sessions.rotateRefresh(doc._id, { nonce: 'n0', generation: 3 }, now, at(minute), 'some-client')).toBeNull();
      expect(await sessions.rotateRefresh(doc._id, { nonce: 'n0', generation: 3 }, at(31 * minute), at(40 * minute))).toBeNull();
      const revoked = session({ refresh: family('r0'), revoked_at: now, revoked_reason: 'logout' });
      await sessions.insert(revoked);
      expect(await sessions.rotateRefresh(revoked._id, { nonce: 'r0', generation: 0 }, now, at(minute))).toBeNull();
      expect((await raw().findOne({ _id: doc._id }))?.refresh).toEqual(family('n0', 3));
    });

    it("an app's family rotates only for its client, a portal family only without one", async () => {
      const oauth = { client_id: 'app-1', scope: 'openid', issuer: 'https://issuer.example', parent_id: null, auth_time: now, acr: null, userinfo_claims: null };
      const app = session({ refresh: family('a0', 0), oauth });
      await sessions.insert(app);
      expect(await sessions.rotateRefresh(app._id, { nonce: 'a0', generation: 0 }, now, at(minute))).toBeNull();
      expect(await sessions.rotateRefresh(app._id, { nonce: 'a0', generation: 0 }, now, at(minute), 'app-2')).toBeNull();
      expect(await sessions.rotateRefresh(app._id, { nonce: 'a0', generation: 0 }, now, at(minute), 'app-1')).not.toBeNull();
      const random = session({ refresh: { hash: 'h0', generation: 0, previous_hash: null, previous_rotated_at: null, previous_successor_enc: null, rotated: {} }, oauth });
      await sessions.insert(random);
      expect(await sessions.rotateRandomRefresh(random._id, { hash: 'h0', generation: 0 }, { nonce: 'n', successorEnc: 's' }, now, at(minute))).toBeNull();
      expect(await sessions.rotateRandomRefresh(random._id, { hash: 'h0', generation: 0 }, { nonce: 'n', successorEnc: 's' }, now, at(minute), 'app-1')).not.toBeNull();
    });

    it('of ten parallel rotations of one generation exactly one wins', async () => {
      const doc = session({ refresh: family('p0', 0) });
      await sessions.insert(doc);
      const results = await Promise.all(Array.from({ length: 10 }, () => sessions.rotateRefresh(doc._id, { nonce: 'p0', generation: 0 }, now, at(minute))));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect((await raw().findOne({ _id: doc._id }))?.refresh?.generation).toBe(1);
    });
  });

  describe('rotateRandomRefresh (a family of random tokens, from before derived ones)', () => {
    const family = (hash = 'h0', generation = 0) => ({ hash, generation, previous_hash: null, previous_rotated_at: null, previous_successor_enc: null, rotated: {} });

    it('rotates the current token and moves the family to derived tokens in the same write, keeping the history', async () => {
      const doc = session({ refresh: family('h0', 4) });
      await sessions.insert(doc);
      const after = await sessions.rotateRandomRefresh(doc._id, { hash: 'h0', generation: 4 }, { nonce: 'n1', successorEnc: 'sealed-5' }, now, at(45 * minute));
      expect(after?.refresh).toEqual({ hash: null, nonce: 'n1', generation: 5, rotated_at: now, previous_hash: 'h0', previous_rotated_at: now, previous_successor_enc: 'sealed-5', rotated: { '4': 'h0' } });
      expect(after?.idle_expires_at).toEqual(at(45 * minute));
      // The random token is spent: neither it nor any other hash rotates the family again.
      expect(await sessions.rotateRandomRefresh(doc._id, { hash: 'h0', generation: 4 }, { nonce: 'x', successorEnc: 'x' }, now, at(minute))).toBeNull();
      expect(await sessions.rotateRefresh(doc._id, { nonce: 'n1', generation: 5 }, now, at(minute))).not.toBeNull();
    });

    it('refuses a token that is not current, and of ten parallel rotations exactly one wins', async () => {
      const doc = session({ refresh: family('p0', 0) });
      await sessions.insert(doc);
      expect(await sessions.rotateRandomRefresh(doc._id, { hash: 'other', generation: 0 }, { nonce: 'x', successorEnc: 'x' }, now, at(minute))).toBeNull();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => sessions.rotateRandomRefresh(doc._id, { hash: 'p0', generation: 0 }, { nonce: `n-${i}`, successorEnc: `s-${i}` }, now, at(minute))),
      );
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect((await raw().findOne({ _id: doc._id }))?.refresh?.nonce).toBe(winners[0]!.refresh!.nonce);
    });
  });
});
