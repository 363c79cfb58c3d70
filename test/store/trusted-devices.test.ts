import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { TrustedDeviceDoc, TrustedDeviceStore } from '../../handlers/store/trusted-devices.ts';
import { openTestStore } from '../support/store.ts';

const minute = 60_000;

describe('TrustedDeviceStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let devices: TrustedDeviceStore;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);
  const userId = new ObjectId();
  const tenantId = new ObjectId();

  const device = (fields: Partial<TrustedDeviceDoc> = {}): TrustedDeviceDoc => ({
    _id: new ObjectId(),
    token_hash: `hash-${new ObjectId().toHexString()}`,
    tenant_id: tenantId,
    user_id: userId,
    device_fingerprint: null,
    user_agent: 'test',
    created_at: at(-minute),
    last_used_at: null,
    expires_at: at(30 * minute),
    revoked_at: null,
    ...fields,
  });
  const raw = () => database.db.collection<TrustedDeviceDoc>('trusted_devices');
  const stored = (id: ObjectId) => raw().findOne({ _id: id });

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    devices = database.trustedDevices;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the device as given', async () => {
    const doc = device({ device_fingerprint: 'fp' });
    await devices.insert(doc);
    expect(await stored(doc._id)).toEqual(doc);
  });

  it('insert refuses a second device with the same token hash (unique index, code 11000)', async () => {
    const doc = device();
    await devices.insert(doc);
    await expect(devices.insert(device({ token_hash: doc.token_hash }))).rejects.toMatchObject({ code: 11000 });
  });

  it('use accepts a live token of this user and records the use', async () => {
    const doc = device();
    await devices.insert(doc);
    expect(await devices.use(doc.token_hash, userId, now)).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ last_used_at: now });
    // Not single-use: the same device keeps working.
    expect(await devices.use(doc.token_hash, userId, at(1000))).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ last_used_at: at(1000) });
  });

  it('use refuses another user\'s, revoked, expired and unknown tokens and records nothing', async () => {
    const other = device({ user_id: new ObjectId() });
    const revoked = device({ revoked_at: at(-1000) });
    const expired = device({ expires_at: now });
    for (const doc of [other, revoked, expired]) await devices.insert(doc);
    expect(await devices.use(other.token_hash, userId, now)).toBe(false);
    expect(await devices.use(revoked.token_hash, userId, now)).toBe(false);
    expect(await devices.use(expired.token_hash, userId, now)).toBe(false);
    expect(await devices.use('unknown', userId, now)).toBe(false);
    for (const doc of [other, revoked, expired]) expect(await stored(doc._id)).toEqual(doc);
  });

  it('use against revocation race: after revokeAllForUser resolves, the token never works again', async () => {
    const doc = device();
    await devices.insert(doc);
    const uses = Array.from({ length: 5 }, () => devices.use(doc.token_hash, userId, now));
    await devices.revokeAllForUser(userId, now);
    await Promise.all(uses);
    expect(await devices.use(doc.token_hash, userId, now)).toBe(false);
  });

  it('revokeAllForUser revokes every unrevoked device of the user, expired ones too', async () => {
    const a = device();
    const expired = device({ expires_at: at(-minute) });
    const otherTenant = device({ tenant_id: new ObjectId() });
    const already = device({ revoked_at: at(-minute) });
    const otherUser = device({ user_id: new ObjectId() });
    for (const doc of [a, expired, otherTenant, already, otherUser]) await devices.insert(doc);
    expect(await devices.revokeAllForUser(userId, now)).toBe(3);
    expect(await stored(a._id)).toMatchObject({ revoked_at: now });
    expect(await stored(already._id)).toMatchObject({ revoked_at: at(-minute) });
    expect(await stored(otherUser._id)).toEqual(otherUser);
    expect(await devices.revokeAllForUser(userId, now)).toBe(0);
  });

  it('listLive lists live devices of the user in the tenant, newest first, at most limit', async () => {
    const older = device({ created_at: at(-3 * minute) });
    const newer = device({ created_at: at(-2 * minute) });
    const newest = device({ created_at: at(-1 * minute) });
    const revoked = device({ revoked_at: at(-1000) });
    const expired = device({ expires_at: now });
    const otherTenant = device({ tenant_id: new ObjectId() });
    for (const doc of [older, newer, newest, revoked, expired, otherTenant]) await devices.insert(doc);
    expect((await devices.listLive(userId, tenantId, now, 100)).map((d) => d._id)).toEqual([newest._id, newer._id, older._id]);
    expect((await devices.listLive(userId, tenantId, now, 2)).map((d) => d._id)).toEqual([newest._id, newer._id]);
    expect(await devices.countLive(userId, tenantId, now)).toBe(3);
    expect(await devices.countLive(new ObjectId(), tenantId, now)).toBe(0);
  });

  it('listLive breaks ties on created_at by _id, newest first', async () => {
    const first = device({ _id: new ObjectId('000000000000000000000001'), created_at: now });
    const second = device({ _id: new ObjectId('000000000000000000000002'), created_at: now });
    await devices.insert(first);
    await devices.insert(second);
    expect((await devices.listLive(userId, tenantId, now, 100)).map((d) => d._id.toHexString())).toEqual([second._id.toHexString(), first._id.toHexString()]);
  });

  it('revokeLive revokes a live device of the user once', async () => {
    const doc = device();
    const expired = device({ expires_at: at(-1000) });
    const otherTenant = device({ tenant_id: new ObjectId() });
    for (const d of [doc, expired, otherTenant]) await devices.insert(d);
    expect(await devices.revokeLive(doc._id, new ObjectId(), tenantId, now)).toBe(false);
    expect(await devices.revokeLive(otherTenant._id, userId, tenantId, now)).toBe(false);
    expect(await devices.revokeLive(expired._id, userId, tenantId, now)).toBe(false);
    expect(await devices.revokeLive(doc._id, userId, tenantId, now)).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ revoked_at: now });
    expect(await devices.revokeLive(doc._id, userId, tenantId, at(1000))).toBe(false);
    expect(await stored(doc._id)).toMatchObject({ revoked_at: now });
    expect(await devices.revokeLive(new ObjectId(), userId, tenantId, now)).toBe(false);
  });

  it('revokeLive race: of 10 parallel revocations exactly one wins', async () => {
    const doc = device();
    await devices.insert(doc);
    const results = await Promise.all(Array.from({ length: 10 }, () => devices.revokeLive(doc._id, userId, tenantId, now)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('revokeAllLive revokes the live ones only and counts them; parallel calls revoke each once', async () => {
    const live = Array.from({ length: 4 }, () => device());
    const expired = device({ expires_at: at(-1000) });
    const otherTenant = device({ tenant_id: new ObjectId() });
    for (const d of [...live, expired, otherTenant]) await devices.insert(d);
    const counts = await Promise.all(Array.from({ length: 5 }, () => devices.revokeAllLive(userId, tenantId, now)));
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(4);
    expect(await stored(expired._id)).toEqual(expired);
    expect(await stored(otherTenant._id)).toEqual(otherTenant);
    expect(await devices.countLive(userId, tenantId, now)).toBe(0);
  });
});
