import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { RefreshTokenDoc, RefreshTokenStore } from '../../handlers/store/refresh-tokens.ts';
import { openTestStore } from '../support/store.ts';

const minute = 60_000;
let counter = 0;

describe('RefreshTokenStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let tokens: RefreshTokenStore;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);

  const token = (fields: Partial<RefreshTokenDoc> = {}): RefreshTokenDoc => ({
    _id: new ObjectId(),
    token_hash: `hash-${++counter}-${new ObjectId().toHexString()}`,
    tenant_id: new ObjectId(),
    user_id: new ObjectId(),
    session_id: new ObjectId(),
    created_at: at(-minute),
    expires_at: at(30 * minute),
    rotated_at: null,
    successor_enc: null,
    revoked_at: null,
    ...fields,
  });
  const raw = () => database.db.collection<RefreshTokenDoc>('refresh_tokens');

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    tokens = database.refreshTokens;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the token; findByHash finds it in any state', async () => {
    const live = token();
    const revoked = token({ revoked_at: at(-minute) });
    await tokens.insert(live);
    await tokens.insert(revoked);
    expect(await tokens.findByHash(live.token_hash)).toEqual(live);
    expect(await tokens.findByHash(revoked.token_hash)).toEqual(revoked);
    expect(await tokens.findByHash('unknown')).toBeNull();
  });

  it('insert refuses a second token with the same hash (unique index, code 11000)', async () => {
    const first = token();
    await tokens.insert(first);
    await expect(tokens.insert(token({ token_hash: first.token_hash }))).rejects.toMatchObject({ code: 11000 });
    expect(await raw().countDocuments({ token_hash: first.token_hash })).toBe(1);
  });

  it('insertIfAbsent stores a token once: a second insert of the same hash is a no-op (false), even in parallel', async () => {
    const doc = token();
    expect(await tokens.insertIfAbsent(doc)).toBe(true);
    expect(await tokens.insertIfAbsent({ ...doc, _id: new ObjectId() })).toBe(false);
    const again = token();
    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.insertIfAbsent({ ...again, _id: new ObjectId() })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await raw().countDocuments({ token_hash: { $in: [doc.token_hash, again.token_hash] } })).toBe(2);
  });

  it('claim rotates a live token once and returns it after the update', async () => {
    const doc = token();
    await tokens.insert(doc);
    const claimed = await tokens.claim(doc.token_hash, now, 'sealed-successor');
    expect(claimed).toEqual({ ...doc, rotated_at: now, successor_enc: 'sealed-successor' });
    expect(await tokens.claim(doc.token_hash, at(1000), 'another')).toBeNull();
    expect(await tokens.findByHash(doc.token_hash)).toMatchObject({ rotated_at: now, successor_enc: 'sealed-successor' });
  });

  it('claim refuses revoked, expired and unknown tokens and changes nothing', async () => {
    const revoked = token({ revoked_at: at(-minute) });
    const expired = token({ expires_at: now });
    await tokens.insert(revoked);
    await tokens.insert(expired);
    expect(await tokens.claim(revoked.token_hash, now, 's')).toBeNull();
    expect(await tokens.claim(expired.token_hash, now, 's')).toBeNull();
    expect(await tokens.claim('unknown', now, 's')).toBeNull();
    expect(await tokens.findByHash(revoked.token_hash)).toEqual(revoked);
    expect(await tokens.findByHash(expired.token_hash)).toEqual(expired);
  });

  it('claim race: of 10 parallel claims of one token exactly one wins, and its successor is stored', async () => {
    const doc = token();
    await tokens.insert(doc);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => tokens.claim(doc.token_hash, now, `successor-${i}`)));
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    expect((await tokens.findByHash(doc.token_hash))?.successor_enc).toBe(winners[0]!.successor_enc);
  });

  it('revokeForSessions revokes the unrevoked tokens of the sessions, drops their successors, and counts them', async () => {
    const sessionA = new ObjectId();
    const sessionB = new ObjectId();
    const a1 = token({ session_id: sessionA, rotated_at: at(-minute), successor_enc: 'sealed' });
    const a2 = token({ session_id: sessionA });
    const b1 = token({ session_id: sessionB });
    const already = token({ session_id: sessionA, revoked_at: at(-minute), successor_enc: null });
    const other = token();
    for (const doc of [a1, a2, b1, already, other]) await tokens.insert(doc);
    expect(await tokens.revokeForSessions([], now)).toBe(0);
    expect(await tokens.revokeForSessions([sessionA], now)).toBe(2);
    expect(await tokens.findByHash(a1.token_hash)).toMatchObject({ revoked_at: now, successor_enc: null, rotated_at: at(-minute) });
    expect(await tokens.findByHash(already.token_hash)).toMatchObject({ revoked_at: at(-minute) });
    expect(await tokens.findByHash(b1.token_hash)).toMatchObject({ revoked_at: null });
    expect(await tokens.revokeForSessions([sessionA, sessionB], at(minute))).toBe(1);
    expect(await tokens.findByHash(b1.token_hash)).toMatchObject({ revoked_at: at(minute) });
    expect(await tokens.findByHash(other.token_hash)).toEqual(other);
    // A revoked token can no longer be claimed.
    expect(await tokens.claim(a2.token_hash, now, 's')).toBeNull();
  });

  it('revokeForSessions race: parallel revocations of one family revoke each token exactly once', async () => {
    const sessionId = new ObjectId();
    for (let i = 0; i < 4; i++) await tokens.insert(token({ session_id: sessionId }));
    const counts = await Promise.all(Array.from({ length: 5 }, () => tokens.revokeForSessions([sessionId], now)));
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(4);
  });

  it('claim against revocation race: a token is either rotated or revoked first, never claimed after revocation', async () => {
    const doc = token();
    await tokens.insert(doc);
    const [claimed] = await Promise.all([tokens.claim(doc.token_hash, now, 's'), tokens.revokeForSessions([doc.session_id], now)]);
    const stored = await tokens.findByHash(doc.token_hash);
    expect(stored?.revoked_at).toEqual(now);
    // When the claim won it rotated the token before the revocation (which then cleared the successor).
    if (claimed) expect(claimed.rotated_at).toEqual(now);
    else expect(stored?.rotated_at).toBeNull();
  });
});
