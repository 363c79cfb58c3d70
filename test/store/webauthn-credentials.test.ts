import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { WebAuthnCredentialDoc, WebAuthnCredentialStore } from '../../handlers/store/webauthn-credentials.ts';
import { openTestStore } from '../support/store.ts';

let counter = 0;

describe('WebAuthnCredentialStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let credentials: WebAuthnCredentialStore;
  const now = new Date();
  const at = (s: number) => new Date(now.getTime() + s * 1000);
  const tenantId = new ObjectId();
  const userId = new ObjectId();

  const credential = (fields: Partial<WebAuthnCredentialDoc> = {}): WebAuthnCredentialDoc => {
    counter += 1;
    return {
      _id: new ObjectId(),
      tenant_id: tenantId,
      user_id: userId,
      credential_id: `cred-${counter}`,
      public_key: 'cose',
      counter: 5,
      transports: ['usb'],
      name: `Key ${counter}`,
      device_type: 'singleDevice',
      backed_up: false,
      aaguid: '00000000-0000-0000-0000-000000000000',
      rp_id: 'localhost',
      created_at: at(-counter),
      last_used_at: null,
      ...fields,
    };
  };
  const raw = () => database.db.collection<WebAuthnCredentialDoc>('webauthn_credentials');
  const inserted = async (fields: Partial<WebAuthnCredentialDoc> = {}) => {
    const doc = credential(fields);
    expect(await credentials.insert(doc)).toBe(true);
    return doc;
  };
  const stored = async (id: ObjectId) => raw().findOne({ _id: id });

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    credentials = database.webauthnCredentials;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  it('insert stores the credential as given', async () => {
    const doc = await inserted();
    expect(await stored(doc._id)).toEqual(doc);
  });

  it('insert refuses a credential ID registered already, to anyone (unique index)', async () => {
    const doc = await inserted();
    expect(await credentials.insert(credential({ credential_id: doc.credential_id, user_id: new ObjectId(), tenant_id: new ObjectId() }))).toBe(false);
    expect(await raw().countDocuments({ credential_id: doc.credential_id })).toBe(1);
  });

  it('of N parallel registrations of one credential ID exactly one succeeds', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => credentials.insert(credential({ credential_id: 'same' }))));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('listForUser lists the user’s credentials in that tenant, oldest first', async () => {
    const newer = await inserted({ created_at: at(2) });
    const older = await inserted({ created_at: at(1) });
    await inserted({ user_id: new ObjectId() });
    await inserted({ tenant_id: new ObjectId() });
    expect((await credentials.listForUser(userId, tenantId)).map((c) => c._id)).toEqual([older._id, newer._id]);
    expect(await credentials.listForUser(new ObjectId(), tenantId)).toEqual([]);
  });

  it('findForUserById finds it only among the user’s credentials in that tenant', async () => {
    const doc = await inserted();
    expect(await credentials.findForUserById(userId, tenantId, doc._id)).toEqual(doc);
    expect(await credentials.findForUserById(new ObjectId(), tenantId, doc._id)).toBeNull();
    expect(await credentials.findForUserById(userId, new ObjectId(), doc._id)).toBeNull();
    expect(await credentials.findForUserById(userId, tenantId, new ObjectId())).toBeNull();
  });

  it('findForUserByCredentialId finds it only among the user’s credentials in that tenant', async () => {
    const doc = await inserted();
    expect(await credentials.findForUserByCredentialId(userId, tenantId, doc.credential_id)).toEqual(doc);
    expect(await credentials.findForUserByCredentialId(new ObjectId(), tenantId, doc.credential_id)).toBeNull();
    expect(await credentials.findForUserByCredentialId(userId, new ObjectId(), doc.credential_id)).toBeNull();
    expect(await credentials.findForUserByCredentialId(userId, tenantId, 'unknown')).toBeNull();
  });

  it('rename renames the owner’s credential and returns it; another user’s or a gone one gives null', async () => {
    const doc = await inserted();
    expect(await credentials.rename(doc._id, userId, 'Desk key')).toEqual({ ...doc, name: 'Desk key' });
    expect(await credentials.rename(doc._id, new ObjectId(), 'Stolen')).toBeNull();
    expect((await stored(doc._id))?.name).toBe('Desk key');
    expect(await credentials.rename(new ObjectId(), userId, 'x')).toBeNull();
  });

  it('delete removes the owner’s credential once; another user cannot', async () => {
    const doc = await inserted();
    expect(await credentials.delete(doc._id, new ObjectId())).toBe(false);
    expect(await stored(doc._id)).not.toBeNull();
    expect(await credentials.delete(doc._id, userId)).toBe(true);
    expect(await stored(doc._id)).toBeNull();
    expect(await credentials.delete(doc._id, userId)).toBe(false);
  });

  it('of N parallel deletes exactly one reports it', async () => {
    const doc = await inserted();
    const results = await Promise.all(Array.from({ length: 10 }, () => credentials.delete(doc._id, userId)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('recordUse accepts a counter that moves forward and records the use', async () => {
    const doc = await inserted({ counter: 5 });
    expect(await credentials.recordUse(doc._id, 6, true, now)).toBe(true);
    expect(await stored(doc._id)).toMatchObject({ counter: 6, backed_up: true, last_used_at: now });
  });

  it('recordUse refuses a counter that does not move forward (a cloned key), changing nothing', async () => {
    const doc = await inserted({ counter: 5 });
    expect(await credentials.recordUse(doc._id, 5, true, now)).toBe(false);
    expect(await credentials.recordUse(doc._id, 4, true, now)).toBe(false);
    expect(await stored(doc._id)).toEqual(doc);
    expect(await credentials.recordUse(new ObjectId(), 9, false, now)).toBe(false);
  });

  it('recordUse: an authenticator without a counter stays at 0; reporting 0 after a counter is refused', async () => {
    const zero = await inserted({ counter: 0 });
    expect(await credentials.recordUse(zero._id, 0, false, now)).toBe(true);
    expect(await credentials.recordUse(zero._id, 0, false, at(1))).toBe(true);
    expect(await stored(zero._id)).toMatchObject({ counter: 0, last_used_at: at(1) });
    const counting = await inserted({ counter: 3 });
    expect(await credentials.recordUse(counting._id, 0, false, now)).toBe(false);
    expect((await stored(counting._id))?.counter).toBe(3);
  });

  it('N parallel assertions with the same counter: exactly one is accepted', async () => {
    const doc = await inserted({ counter: 5 });
    const results = await Promise.all(Array.from({ length: 10 }, () => credentials.recordUse(doc._id, 6, false, now)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await stored(doc._id))?.counter).toBe(6);
  });
});
