import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { WebAuthnChallengeBinding, WebAuthnChallengeDoc, WebAuthnChallengeStore } from '../../handlers/store/webauthn-challenges.ts';
import { openTestStore } from '../support/store.ts';

const minute = 60_000;

describe('WebAuthnChallengeStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let challenges: WebAuthnChallengeStore;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);

  const authentication = (fields: Partial<WebAuthnChallengeDoc> = {}): WebAuthnChallengeDoc => ({
    _id: new ObjectId(),
    tenant_id: new ObjectId(),
    user_id: new ObjectId(),
    purpose: 'authentication',
    challenge: `challenge-${new ObjectId().toHexString()}`,
    flow_id: new ObjectId(),
    session_id: null,
    rp_id: 'localhost',
    created_at: at(-minute),
    expires_at: at(5 * minute),
    consumed_at: null,
    ...fields,
  });
  const registration = (fields: Partial<WebAuthnChallengeDoc> = {}) =>
    authentication({ purpose: 'registration', flow_id: null, session_id: new ObjectId(), ...fields });
  const bindingOf = (doc: WebAuthnChallengeDoc): WebAuthnChallengeBinding => ({
    userId: doc.user_id,
    tenantId: doc.tenant_id,
    purpose: doc.purpose,
    ...(doc.flow_id ? { flowId: doc.flow_id } : {}),
    ...(doc.session_id ? { sessionId: doc.session_id } : {}),
  });
  const raw = () => database.db.collection<WebAuthnChallengeDoc>('webauthn_challenges');
  const stored = (id: ObjectId) => raw().findOne({ _id: id });

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    challenges = database.webauthnChallenges;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the challenge as given; a duplicate _id is refused (code 11000)', async () => {
    const doc = authentication();
    await challenges.insert(doc);
    expect(await stored(doc._id)).toEqual(doc);
    await expect(challenges.insert({ ...doc })).rejects.toMatchObject({ code: 11000 });
  });

  it('consume marks a bound, live challenge used and returns it as it was', async () => {
    const auth = authentication();
    const reg = registration();
    await challenges.insert(auth);
    await challenges.insert(reg);
    expect(await challenges.consume(auth._id, bindingOf(auth), now)).toEqual(auth);
    expect(await stored(auth._id)).toMatchObject({ consumed_at: now });
    expect(await challenges.consume(reg._id, bindingOf(reg), now)).toEqual(reg);
    expect(await stored(reg._id)).toMatchObject({ consumed_at: now });
  });

  it('consume works once', async () => {
    const doc = authentication();
    await challenges.insert(doc);
    expect(await challenges.consume(doc._id, bindingOf(doc), now)).not.toBeNull();
    expect(await challenges.consume(doc._id, bindingOf(doc), at(1000))).toBeNull();
    expect(await stored(doc._id)).toMatchObject({ consumed_at: now });
  });

  it('consume refuses a challenge bound elsewhere, or expired, and leaves it unused', async () => {
    const auth = authentication();
    const reg = registration();
    const expired = authentication({ expires_at: now });
    for (const doc of [auth, reg, expired]) await challenges.insert(doc);
    const b = bindingOf(auth);
    expect(await challenges.consume(auth._id, { ...b, userId: new ObjectId() }, now)).toBeNull();
    expect(await challenges.consume(auth._id, { ...b, tenantId: new ObjectId() }, now)).toBeNull();
    expect(await challenges.consume(auth._id, { ...b, purpose: 'registration' }, now)).toBeNull();
    expect(await challenges.consume(auth._id, { ...b, flowId: new ObjectId() }, now)).toBeNull();
    expect(await challenges.consume(reg._id, { ...bindingOf(reg), sessionId: new ObjectId() }, now)).toBeNull();
    expect(await challenges.consume(expired._id, bindingOf(expired), now)).toBeNull();
    expect(await challenges.consume(new ObjectId(), b, now)).toBeNull();
    for (const doc of [auth, reg, expired]) expect(await stored(doc._id)).toEqual(doc);
    // The right binding still works afterwards.
    expect(await challenges.consume(auth._id, b, now)).toEqual(auth);
  });

  it('consume race: of 10 parallel consumptions exactly one gets the challenge', async () => {
    const doc = authentication();
    await challenges.insert(doc);
    const results = await Promise.all(Array.from({ length: 10 }, () => challenges.consume(doc._id, bindingOf(doc), now)));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });
});
