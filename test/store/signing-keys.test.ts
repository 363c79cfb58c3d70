import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { SigningKeyDoc, SigningKeyStore } from '../../handlers/store/signing-keys.ts';
import { openTestStore } from '../support/store.ts';

const minute = 60_000;
let counter = 0;

describe('SigningKeyStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let keys: SigningKeyStore;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);

  const key = (fields: Partial<SigningKeyDoc> = {}): SigningKeyDoc => ({
    _id: `kid-${++counter}`,
    alg: 'ES256',
    public_jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
    private_jwk_enc: 'sealed',
    status: 'active',
    created_at: at(-counter * minute),
    publish_until: null,
    ...fields,
  });
  const raw = () => database.db.collection<SigningKeyDoc>('signing_keys');
  const ids = (docs: SigningKeyDoc[]) => docs.map((d) => d._id).sort();

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    keys = database.signingKeys;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the key as given', async () => {
    const doc = key();
    await keys.insert(doc);
    expect(await raw().findOne({ _id: doc._id })).toEqual(doc);
  });

  it('insert refuses a duplicate kid (code 11000)', async () => {
    const doc = key();
    await keys.insert(doc);
    await expect(keys.insert({ ...doc, private_jwk_enc: 'other' })).rejects.toMatchObject({ code: 11000 });
    expect(await raw().findOne({ _id: doc._id })).toMatchObject({ private_jwk_enc: 'sealed' });
  });

  it('findPublished returns active keys and retired ones still within publish_until', async () => {
    const active = key();
    const retiredLive = key({ status: 'retired', publish_until: at(minute) });
    const retiredGone = key({ status: 'retired', publish_until: now });
    for (const doc of [active, retiredLive, retiredGone]) await keys.insert(doc);
    expect(ids(await keys.findPublished(now))).toEqual(ids([active, retiredLive]));
    expect(ids(await keys.findPublished(at(2 * minute)))).toEqual(ids([active]));
  });

  it('retireAllExcept retires every other active key and leaves retired ones as they were', async () => {
    const old1 = key();
    const old2 = key();
    const earlier = key({ status: 'retired', publish_until: at(5 * minute) });
    const fresh = key();
    for (const doc of [old1, old2, earlier, fresh]) await keys.insert(doc);
    expect(await keys.retireAllExcept([fresh._id], at(60 * minute))).toBe(2);
    expect(await raw().findOne({ _id: old1._id })).toMatchObject({ status: 'retired', publish_until: at(60 * minute) });
    expect(await raw().findOne({ _id: earlier._id })).toMatchObject({ status: 'retired', publish_until: at(5 * minute) });
    expect(await raw().findOne({ _id: fresh._id })).toMatchObject({ status: 'active', publish_until: null });
    expect(await keys.retireAllExcept([fresh._id], at(90 * minute))).toBe(0);
  });

  it('retireAllExcept race: parallel retirements retire each other key exactly once', async () => {
    const others = Array.from({ length: 4 }, () => key());
    const fresh = key();
    for (const doc of [...others, fresh]) await keys.insert(doc);
    const counts = await Promise.all(Array.from({ length: 5 }, () => keys.retireAllExcept([fresh._id], at(60 * minute))));
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(4);
    expect(await raw().countDocuments({ status: 'active' })).toBe(1);
  });
});
