import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { FlowDoc, FlowStore } from '../../handlers/store/flows.ts';
import { openTestStore } from '../support/store.ts';

const minute = 60_000;
const maxFailures = 5;

describe('FlowStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let flows: FlowStore;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);

  const flow = (fields: Partial<FlowDoc> = {}): FlowDoc => ({
    _id: new ObjectId(),
    token_hash: `hash-${new ObjectId().toHexString()}`,
    kind: 'mfa',
    email_normalized: null,
    user_id: new ObjectId(),
    tenant_id: new ObjectId(),
    channel: 'portal',
    remember_me: false,
    redirect_uri: null,
    failed_attempts: 0,
    created_at: at(-minute),
    expires_at: at(10 * minute),
    consumed_at: null,
    ...fields,
  });
  const raw = () => database.db.collection<FlowDoc>('flows');
  const stored = (id: ObjectId) => raw().findOne({ _id: id });
  const codeFor = (fields: Partial<{ now: Date; resendNotAfter: Date; maxCodes: number }> = {}) => ({
    hash: 'code-hmac',
    expiresAt: at(10 * minute),
    now,
    resendNotAfter: at(-30_000),
    maxCodes: 5,
    ...fields,
  });

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    flows = database.flows;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the flow as given', async () => {
    const doc = flow({ kind: 'identify', email_normalized: 'a@example.com' });
    await flows.insert(doc);
    expect(await stored(doc._id)).toEqual(doc);
  });

  it('insert refuses a second flow with the same token hash (unique index, code 11000)', async () => {
    const doc = flow();
    await flows.insert(doc);
    await expect(flows.insert(flow({ token_hash: doc.token_hash }))).rejects.toMatchObject({ code: 11000 });
    expect(await raw().countDocuments({ token_hash: doc.token_hash })).toBe(1);
  });

  it('findLive finds a live flow of its kind only', async () => {
    const live = flow();
    const consumed = flow({ consumed_at: at(-1000) });
    const expired = flow({ expires_at: now });
    const exhausted = flow({ failed_attempts: maxFailures });
    const almost = flow({ failed_attempts: maxFailures - 1 });
    for (const doc of [live, consumed, expired, exhausted, almost]) await flows.insert(doc);
    expect(await flows.findLive('mfa', live.token_hash, now, maxFailures)).toEqual(live);
    expect(await flows.findLive('identify', live.token_hash, now, maxFailures)).toBeNull();
    expect(await flows.findLive('mfa', consumed.token_hash, now, maxFailures)).toBeNull();
    expect(await flows.findLive('mfa', expired.token_hash, now, maxFailures)).toBeNull();
    expect(await flows.findLive('mfa', exhausted.token_hash, now, maxFailures)).toBeNull();
    expect(await flows.findLive('mfa', almost.token_hash, now, maxFailures)).toEqual(almost);
    expect(await flows.findLive('mfa', 'unknown', now, maxFailures)).toBeNull();
  });

  it('consume marks a live flow consumed once', async () => {
    const doc = flow();
    await flows.insert(doc);
    expect(await flows.consume(doc._id, now, maxFailures)).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ consumed_at: now });
    expect(await flows.consume(doc._id, at(1000), maxFailures)).toBe(false);
    expect(await stored(doc._id)).toMatchObject({ consumed_at: now });
    expect(await flows.findLive('mfa', doc.token_hash, now, maxFailures)).toBeNull();
  });

  it('consume refuses expired, exhausted and unknown flows and changes nothing', async () => {
    const expired = flow({ expires_at: at(-1000) });
    const exhausted = flow({ failed_attempts: maxFailures });
    await flows.insert(expired);
    await flows.insert(exhausted);
    expect(await flows.consume(expired._id, now, maxFailures)).toBe(false);
    expect(await flows.consume(exhausted._id, now, maxFailures)).toBe(false);
    expect(await flows.consume(new ObjectId(), now, maxFailures)).toBe(false);
    expect(await stored(expired._id)).toEqual(expired);
    expect(await stored(exhausted._id)).toEqual(exhausted);
  });

  it('consume race: of 10 parallel consumptions exactly one wins', async () => {
    const doc = flow();
    await flows.insert(doc);
    const results = await Promise.all(Array.from({ length: 10 }, () => flows.consume(doc._id, now, maxFailures)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('reopenWithFailure undoes the consumption made at that time and counts a failure, once', async () => {
    const doc = flow();
    await flows.insert(doc);
    expect(await flows.consume(doc._id, now, maxFailures)).toBe(true);
    expect(await flows.reopenWithFailure(doc._id, at(1))).toBe(false);
    expect(await flows.reopenWithFailure(doc._id, now)).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ consumed_at: null, failed_attempts: 1 });
    expect(await flows.reopenWithFailure(doc._id, now)).toBe(false);
    expect(await flows.findLive('mfa', doc.token_hash, now, maxFailures)).not.toBeNull();
  });

  it('reopenWithFailure never revives an unconsumed flow, and the last allowed failure leaves it dead', async () => {
    const doc = flow({ failed_attempts: maxFailures - 1 });
    await flows.insert(doc);
    expect(await flows.reopenWithFailure(doc._id, now)).toBe(false);
    expect(await flows.consume(doc._id, now, maxFailures)).toBe(true);
    expect(await flows.reopenWithFailure(doc._id, now)).toBe(true);
    expect(await flows.findLive('mfa', doc.token_hash, now, maxFailures)).toBeNull();
  });

  it('recordFailure counts on an unconsumed flow until it is exhausted; not on a consumed one', async () => {
    const doc = flow();
    const consumed = flow({ consumed_at: at(-1000) });
    await flows.insert(doc);
    await flows.insert(consumed);
    for (let i = 0; i < maxFailures; i++) expect(await flows.recordFailure(doc._id)).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ failed_attempts: maxFailures });
    expect(await flows.findLive('mfa', doc.token_hash, now, maxFailures)).toBeNull();
    expect(await flows.consume(doc._id, now, maxFailures)).toBe(false);
    expect(await flows.recordFailure(consumed._id)).toBe(false);
    expect(await stored(consumed._id)).toMatchObject({ failed_attempts: 0 });
    expect(await flows.recordFailure(new ObjectId())).toBe(false);
  });

  it('recordFailure race: 10 parallel failures all count (atomic increment, no lost update)', async () => {
    const doc = flow();
    await flows.insert(doc);
    const results = await Promise.all(Array.from({ length: 10 }, () => flows.recordFailure(doc._id)));
    expect(results.every(Boolean)).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ failed_attempts: 10 });
  });

  it('recordEmailCode stores the first code on a flow without email fields', async () => {
    const doc = flow();
    await flows.insert(doc);
    expect(await flows.recordEmailCode(doc._id, codeFor())).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ email_code_hash: 'code-hmac', email_code_expires_at: at(10 * minute), email_code_sent_at: now, email_codes_sent: 1 });
  });

  it('recordEmailCode refuses a resend within the interval, then allows it after', async () => {
    const doc = flow({ email_code_hash: 'old', email_code_sent_at: at(-10_000), email_codes_sent: 1, email_code_expires_at: at(minute) });
    await flows.insert(doc);
    expect(await flows.recordEmailCode(doc._id, codeFor({ resendNotAfter: at(-30_000) }))).toBe(false);
    expect(await stored(doc._id)).toMatchObject({ email_code_hash: 'old', email_codes_sent: 1 });
    // Exactly at the boundary counts as allowed ($lte).
    expect(await flows.recordEmailCode(doc._id, codeFor({ resendNotAfter: at(-10_000) }))).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ email_code_hash: 'code-hmac', email_codes_sent: 2 });
  });

  it('recordEmailCode accepts an explicit null sent-at and refuses after maxCodes or on a consumed flow', async () => {
    const nullSent = flow({ email_code_sent_at: null, email_codes_sent: 0 });
    const spent = flow({ email_code_sent_at: at(-minute), email_codes_sent: 5 });
    const consumed = flow({ consumed_at: at(-1000) });
    for (const doc of [nullSent, spent, consumed]) await flows.insert(doc);
    expect(await flows.recordEmailCode(nullSent._id, codeFor())).toBe(true);
    expect(await flows.recordEmailCode(spent._id, codeFor())).toBe(false);
    expect(await flows.recordEmailCode(consumed._id, codeFor())).toBe(false);
    expect(await stored(spent._id)).toEqual(spent);
    expect(await stored(consumed._id)).toEqual(consumed);
  });

  it('recordEmailCode race: of 10 parallel sends within one interval exactly one stores a code', async () => {
    const doc = flow();
    await flows.insert(doc);
    const results = await Promise.all(Array.from({ length: 10 }, () => flows.recordEmailCode(doc._id, codeFor())));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stored(doc._id)).toMatchObject({ email_codes_sent: 1 });
  });

  it('countWebAuthnChallenge counts up to max on an unconsumed flow', async () => {
    const doc = flow();
    const consumed = flow({ consumed_at: at(-1000) });
    await flows.insert(doc);
    await flows.insert(consumed);
    for (let i = 0; i < 3; i++) expect(await flows.countWebAuthnChallenge(doc._id, 3)).toBe(true);
    expect(await flows.countWebAuthnChallenge(doc._id, 3)).toBe(false);
    expect(await stored(doc._id)).toMatchObject({ webauthn_challenges: 3 });
    expect(await flows.countWebAuthnChallenge(consumed._id, 3)).toBe(false);
    expect(await flows.countWebAuthnChallenge(new ObjectId(), 3)).toBe(false);
  });

  it('countWebAuthnChallenge race: of 10 parallel requests with a budget of 3 exactly 3 win', async () => {
    const doc = flow();
    await flows.insert(doc);
    const results = await Promise.all(Array.from({ length: 10 }, () => flows.countWebAuthnChallenge(doc._id, 3)));
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(await stored(doc._id)).toMatchObject({ webauthn_challenges: 3 });
  });

  it('consumeOrInsert stores an unstored flow consumed, consumes a stored live one, and refuses a dead one', async () => {
    const fresh = flow({ kind: 'identify' });
    expect(await flows.consumeOrInsert(fresh, now, 5)).toBe(true);
    expect(await stored(fresh._id)).toMatchObject({ consumed_at: now, failed_attempts: 0, token_hash: fresh.token_hash });
    expect(await flows.consumeOrInsert(fresh, now, 5)).toBe(false);
    const live = flow({ kind: 'identify' });
    await flows.insert(live);
    expect(await flows.consumeOrInsert(live, now, 5)).toBe(true);
    const exhausted = flow({ kind: 'identify', failed_attempts: 5 });
    await flows.insert(exhausted);
    expect(await flows.consumeOrInsert(exhausted, now, 5)).toBe(false);
    expect(await stored(exhausted._id)).toMatchObject({ consumed_at: null });
  });

  it('of ten parallel consumeOrInsert calls on an unstored flow exactly one wins', async () => {
    const fresh = flow({ kind: 'identify' });
    const results = await Promise.all(Array.from({ length: 10 }, () => flows.consumeOrInsert(fresh, now, 5)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('recordFailureOrInsert stores an unstored flow with one failure, counts on a stored one, and spares a consumed one', async () => {
    const fresh = flow({ kind: 'identify' });
    await flows.recordFailureOrInsert(fresh);
    expect(await stored(fresh._id)).toMatchObject({ failed_attempts: 1, consumed_at: null, token_hash: fresh.token_hash });
    await Promise.all(Array.from({ length: 4 }, () => flows.recordFailureOrInsert(fresh)));
    expect(await stored(fresh._id)).toMatchObject({ failed_attempts: 5 });
    const consumed = flow({ kind: 'identify', consumed_at: now });
    await flows.insert(consumed);
    await flows.recordFailureOrInsert(consumed);
    expect(await stored(consumed._id)).toMatchObject({ failed_attempts: 0 });
  });
});
