import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../handlers/store/database.ts';
import type { TotpPendingEnrolment, UserDoc, UserStore } from '../../handlers/store/users.ts';
import { openTestStore } from '../support/store.ts';

const minute = 60_000;
let counter = 0;

describe('UserStore', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let database: Database;
  let users: UserStore;
  const now = new Date();
  const at = (ms: number) => new Date(now.getTime() + ms);
  const tenantId = new ObjectId();

  const user = (fields: Partial<UserDoc> = {}): UserDoc => {
    counter += 1;
    return {
      _id: new ObjectId(),
      tenant_id: tenantId,
      email: `User${counter}@Example.com`,
      email_normalized: `user${counter}@example.com`,
      email_verified: true,
      password_hash: 'hash-1',
      status: 'active',
      first_name: 'Ada',
      last_name: 'Lovelace',
      display_name: null,
      phone: null,
      locale: null,
      timezone: null,
      custom_data: null,
      mfa: { totp: null, email_enabled: false, backup_codes: [], backup_codes_created_at: null },
      failed_logins: 0,
      locked_until: null,
      password_changed_at: at(-minute),
      created_at: at(-minute),
      updated_at: at(-minute),
      ...fields,
    };
  };
  const pending = (fields: Partial<TotpPendingEnrolment> = {}): TotpPendingEnrolment => ({
    secret_enc: 'sealed-pending',
    created_at: now,
    expires_at: at(10 * minute),
    failed_attempts: 0,
    ...fields,
  });
  const confirmedTotp = { secret_enc: 'sealed-confirmed', confirmed_at: at(-minute), last_step: 100 };
  const raw = () => database.db.collection<UserDoc>('users');
  const stored = async (id: ObjectId) => (await raw().findOne({ _id: id }))!;
  const inserted = async (fields: Partial<UserDoc> = {}) => {
    const doc = user(fields);
    expect(await users.insert(doc)).toBe(true);
    return doc;
  };
  const all = <T>(n: number, call: () => Promise<T>) => Promise.all(Array.from({ length: n }, call));

  beforeAll(async () => {
    store = await openTestStore();
    database = store.database;
    users = database.users;
  });
  afterAll(async () => store?.close());
  beforeEach(async () => {
    await raw().deleteMany({});
  });

  describe('insert and reads', () => {
    it('insert stores the document as given; findById reads it back', async () => {
      const doc = await inserted();
      expect(await stored(doc._id)).toEqual(doc);
      expect(await users.findById(doc._id)).toEqual(doc);
      expect(await users.findById(new ObjectId())).toBeNull();
    });

    it('insert refuses a second account with the same normalised email in the tenant (unique index), allows it in another', async () => {
      const doc = await inserted();
      expect(await users.insert(user({ email_normalized: doc.email_normalized }))).toBe(false);
      expect(await raw().countDocuments({ tenant_id: tenantId, email_normalized: doc.email_normalized })).toBe(1);
      expect(await users.insert(user({ tenant_id: new ObjectId(), email_normalized: doc.email_normalized }))).toBe(true);
    });

    it('of N parallel inserts of the same email in a tenant exactly one succeeds', async () => {
      const results = await all(10, () => users.insert(user({ email_normalized: 'race@example.com' })));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await raw().countDocuments({ email_normalized: 'race@example.com' })).toBe(1);
    });

    it('findInTenant matches the normalised email in that tenant only', async () => {
      const doc = await inserted();
      expect((await users.findInTenant(tenantId, doc.email_normalized))?._id).toEqual(doc._id);
      expect(await users.findInTenant(new ObjectId(), doc.email_normalized)).toBeNull();
      expect(await users.findInTenant(tenantId, 'nobody@example.com')).toBeNull();
    });

    it('listActiveByEmail finds only active accounts across tenants, oldest first, and stops at the limit', async () => {
      const email = 'live@example.com';
      const newer = await inserted({ tenant_id: new ObjectId(), email_normalized: email, created_at: at(-minute) });
      const older = await inserted({ tenant_id: new ObjectId(), email_normalized: email, created_at: at(-2 * minute) });
      for (const status of ['pending', 'locked', 'disabled'] as const) await inserted({ tenant_id: new ObjectId(), email_normalized: email, status });
      await inserted({ email_normalized: 'other@example.com' });
      const ids = (docs: UserDoc[]) => docs.map((d) => d._id.toHexString());
      expect(ids(await users.listActiveByEmail(email, 50))).toEqual(ids([older, newer]));
      expect(ids(await users.listActiveByEmail(email, 1))).toEqual(ids([older]));
      expect(await users.listActiveByEmail('nobody@example.com', 50)).toEqual([]);
    });

    it('listInTenant lists that tenant only, by normalised email', async () => {
      const b = await inserted({ email_normalized: 'b@example.com' });
      const a = await inserted({ email_normalized: 'a@example.com' });
      await inserted({ tenant_id: new ObjectId(), email_normalized: 'c@example.com' });
      expect((await users.listInTenant(tenantId)).map((d) => d._id)).toEqual([a._id, b._id]);
      expect(await users.listInTenant(new ObjectId())).toEqual([]);
    });
  });

  describe('passwords, verification, status, profile', () => {
    it('setPasswordHash replaces the hash and records when', async () => {
      const doc = await inserted();
      await users.setPasswordHash(doc._id, 'hash-2', now);
      expect(await stored(doc._id)).toMatchObject({ password_hash: 'hash-2', password_changed_at: now, updated_at: now });
    });

    it('replacePasswordHash swaps only while the hash is still the one read; a stale one is refused', async () => {
      const doc = await inserted();
      expect(await users.replacePasswordHash(doc._id, 'hash-1', 'rehashed')).toBe(true);
      expect((await stored(doc._id)).password_hash).toBe('rehashed');
      expect(await users.replacePasswordHash(doc._id, 'hash-1', 'stale')).toBe(false);
      expect((await stored(doc._id)).password_hash).toBe('rehashed');
      expect(await users.replacePasswordHash(new ObjectId(), 'hash-1', 'x')).toBe(false);
    });

    it('changePasswordHash changes the password only from the verified hash, recording when; a stale one is refused', async () => {
      const doc = await inserted();
      expect(await users.changePasswordHash(doc._id, 'hash-1', 'hash-2', now)).toBe(true);
      expect(await stored(doc._id)).toMatchObject({ password_hash: 'hash-2', password_changed_at: now, updated_at: now });
      expect(await users.changePasswordHash(doc._id, 'hash-1', 'hash-3', at(1000))).toBe(false);
      expect(await stored(doc._id)).toMatchObject({ password_hash: 'hash-2', password_changed_at: now });
    });

    it('of N parallel password changes from the same hash exactly one wins', async () => {
      const doc = await inserted();
      let n = 0;
      const results = await all(10, () => users.changePasswordHash(doc._id, 'hash-1', `changed-${++n}`, now));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('of N parallel re-hashes from the same hash exactly one wins', async () => {
      const doc = await inserted();
      let n = 0;
      const results = await all(10, () => users.replacePasswordHash(doc._id, 'hash-1', `rehash-${++n}`));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('markEmailVerified verifies the address and activates a pending account', async () => {
      const doc = await inserted({ email_verified: false, status: 'pending' });
      await users.markEmailVerified(doc._id, now);
      expect(await stored(doc._id)).toMatchObject({ email_verified: true, status: 'active', updated_at: now });
    });

    it('markEmailVerified never reactivates a disabled or locked account', async () => {
      for (const status of ['disabled', 'locked'] as const) {
        const doc = await inserted({ email_verified: false, status });
        await users.markEmailVerified(doc._id, now);
        expect(await stored(doc._id)).toMatchObject({ email_verified: true, status });
      }
    });

    it('setStatus returns the changed document, or null for no such user', async () => {
      const doc = await inserted();
      expect(await users.setStatus(doc._id, 'disabled', now)).toMatchObject({ _id: doc._id, status: 'disabled', updated_at: now });
      expect((await stored(doc._id)).status).toBe('disabled');
      expect(await users.setStatus(new ObjectId(), 'active', now)).toBeNull();
    });

    it('updateProfile sets the given fields only and returns the result, or null for no such user', async () => {
      const doc = await inserted({ phone: '+441632960000' });
      const updated = await users.updateProfile(doc._id, { display_name: 'Countess', timezone: 'Europe/London' }, now);
      expect(updated).toMatchObject({ display_name: 'Countess', timezone: 'Europe/London', phone: '+441632960000', first_name: 'Ada', updated_at: now });
      expect(await stored(doc._id)).toEqual(updated);
      expect(await users.updateProfile(new ObjectId(), { display_name: 'x' }, now)).toBeNull();
    });
  });

  describe('email codes as a factor', () => {
    it('enableEmailMfa turns it on once for a verified address', async () => {
      const doc = await inserted();
      expect(await users.enableEmailMfa(doc._id, now)).toBe(true);
      expect(await stored(doc._id)).toMatchObject({ mfa: { email_enabled: true }, updated_at: now });
      expect(await users.enableEmailMfa(doc._id, at(minute))).toBe(false);
      expect((await stored(doc._id)).updated_at).toEqual(now);
    });

    it('enableEmailMfa refuses an unverified address', async () => {
      const doc = await inserted({ email_verified: false });
      expect(await users.enableEmailMfa(doc._id, now)).toBe(false);
      expect((await stored(doc._id)).mfa.email_enabled).toBe(false);
    });

    it('disableEmailMfa turns it off once; off already is refused', async () => {
      const doc = await inserted();
      expect(await users.disableEmailMfa(doc._id, now)).toBe(false);
      await users.enableEmailMfa(doc._id, now);
      expect(await users.disableEmailMfa(doc._id, at(minute))).toBe(true);
      expect(await stored(doc._id)).toMatchObject({ mfa: { email_enabled: false }, updated_at: at(minute) });
      expect(await users.disableEmailMfa(doc._id, at(minute))).toBe(false);
    });

    it('of N parallel enables (or disables) exactly one makes the change', async () => {
      const doc = await inserted();
      expect((await all(10, () => users.enableEmailMfa(doc._id, now))).filter(Boolean)).toHaveLength(1);
      expect((await all(10, () => users.disableEmailMfa(doc._id, now))).filter(Boolean)).toHaveLength(1);
    });
  });

  describe('backup codes', () => {
    it('replaceBackupCodes replaces the whole set and records when', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, backup_codes: ['old-1', 'old-2'] } });
      await users.replaceBackupCodes(doc._id, ['new-1', 'new-2', 'new-3'], now);
      expect(await stored(doc._id)).toMatchObject({ mfa: { backup_codes: ['new-1', 'new-2', 'new-3'], backup_codes_created_at: now }, updated_at: now });
    });

    it('claimBackupCode pulls the code out once; a used, unknown or other user’s code is refused', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, backup_codes: ['c1', 'c2'] } });
      const other = await inserted({ mfa: { ...user().mfa, backup_codes: ['c3'] } });
      expect(await users.claimBackupCode(doc._id, 'c1', now)).toBe(true);
      expect(await stored(doc._id)).toMatchObject({ mfa: { backup_codes: ['c2'] }, updated_at: now });
      expect(await users.claimBackupCode(doc._id, 'c1', now)).toBe(false);
      expect(await users.claimBackupCode(doc._id, 'nope', now)).toBe(false);
      expect(await users.claimBackupCode(doc._id, 'c3', now)).toBe(false);
      expect((await stored(other._id)).mfa.backup_codes).toEqual(['c3']);
    });

    it('claiming the same code 10× in parallel: exactly one wins', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, backup_codes: ['c1', 'c2'] } });
      const results = await all(10, () => users.claimBackupCode(doc._id, 'c1', now));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await stored(doc._id)).mfa.backup_codes).toEqual(['c2']);
    });
  });

  describe('TOTP', () => {
    it('claimTotpStep accepts only a step later than the last one used', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp: confirmedTotp } });
      expect(await users.claimTotpStep(doc._id, 101)).toBe(true);
      expect((await stored(doc._id)).mfa.totp?.last_step).toBe(101);
      expect(await users.claimTotpStep(doc._id, 101)).toBe(false);
      expect(await users.claimTotpStep(doc._id, 99)).toBe(false);
      expect(await users.claimTotpStep(doc._id, 103)).toBe(true);
      expect(await users.claimTotpStep(doc._id, 102)).toBe(false);
      expect((await stored(doc._id)).mfa.totp?.last_step).toBe(103);
    });

    it('claimTotpStep refuses a user without TOTP', async () => {
      const doc = await inserted();
      expect(await users.claimTotpStep(doc._id, 1)).toBe(false);
      expect((await stored(doc._id)).mfa.totp).toBeNull();
    });

    it('the same step claimed 10× in parallel: exactly one wins', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp: confirmedTotp } });
      expect((await all(10, () => users.claimTotpStep(doc._id, 200))).filter(Boolean)).toHaveLength(1);
    });

    it('startTotpEnrolment stores a pending enrolment when there is no confirmed factor (none, or unconfirmed)', async () => {
      const none = await inserted();
      expect(await users.startTotpEnrolment(none._id, pending())).toBe(true);
      expect((await stored(none._id)).mfa.totp_pending).toEqual(pending());
      const unconfirmed = await inserted({ mfa: { ...user().mfa, totp: { ...confirmedTotp, confirmed_at: null } } });
      expect(await users.startTotpEnrolment(unconfirmed._id, pending())).toBe(true);
      // Starting again replaces the pending one.
      expect(await users.startTotpEnrolment(none._id, pending({ secret_enc: 'second' }))).toBe(true);
      expect((await stored(none._id)).mfa.totp_pending?.secret_enc).toBe('second');
    });

    it('startTotpEnrolment refuses a user with a confirmed factor, and no such user', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp: confirmedTotp } });
      expect(await users.startTotpEnrolment(doc._id, pending())).toBe(false);
      expect((await stored(doc._id)).mfa.totp_pending).toBeUndefined();
      expect(await users.startTotpEnrolment(new ObjectId(), pending())).toBe(false);
    });

    it('countTotpEnrolmentAttempt counts on the live pending enrolment up to the limit', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp_pending: pending() } });
      for (let i = 0; i < 3; i++) expect(await users.countTotpEnrolmentAttempt(doc._id, 'sealed-pending', now, 3)).toBe(true);
      expect((await stored(doc._id)).mfa.totp_pending?.failed_attempts).toBe(3);
      expect(await users.countTotpEnrolmentAttempt(doc._id, 'sealed-pending', now, 3)).toBe(false);
      expect((await stored(doc._id)).mfa.totp_pending?.failed_attempts).toBe(3);
    });

    it('countTotpEnrolmentAttempt refuses a replaced, expired or absent enrolment', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp_pending: pending() } });
      expect(await users.countTotpEnrolmentAttempt(doc._id, 'another secret', now, 5)).toBe(false);
      expect(await users.countTotpEnrolmentAttempt(doc._id, 'sealed-pending', at(10 * minute), 5)).toBe(false);
      const none = await inserted();
      expect(await users.countTotpEnrolmentAttempt(none._id, 'sealed-pending', now, 5)).toBe(false);
      expect((await stored(doc._id)).mfa.totp_pending?.failed_attempts).toBe(0);
    });

    it('10 parallel attempts against a limit of 5: exactly 5 are counted', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp_pending: pending() } });
      const results = await all(10, () => users.countTotpEnrolmentAttempt(doc._id, 'sealed-pending', now, 5));
      expect(results.filter(Boolean)).toHaveLength(5);
      expect((await stored(doc._id)).mfa.totp_pending?.failed_attempts).toBe(5);
    });

    it('confirmTotpEnrolment makes the pending secret the factor, its step used, and clears the pending one', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp_pending: pending() } });
      expect(await users.confirmTotpEnrolment(doc._id, 'sealed-pending', now, 500)).toBe(true);
      expect(await stored(doc._id)).toMatchObject({
        mfa: { totp: { secret_enc: 'sealed-pending', confirmed_at: now, last_step: 500 }, totp_pending: null },
        updated_at: now,
      });
      expect(await users.confirmTotpEnrolment(doc._id, 'sealed-pending', now, 501)).toBe(false);
    });

    it('confirmTotpEnrolment refuses a replaced or expired enrolment, or one over a confirmed factor', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp_pending: pending() } });
      expect(await users.confirmTotpEnrolment(doc._id, 'another secret', now, 1)).toBe(false);
      expect(await users.confirmTotpEnrolment(doc._id, 'sealed-pending', at(10 * minute), 1)).toBe(false);
      const enrolled = await inserted({ mfa: { ...user().mfa, totp: confirmedTotp, totp_pending: pending() } });
      expect(await users.confirmTotpEnrolment(enrolled._id, 'sealed-pending', now, 1)).toBe(false);
      expect((await stored(enrolled._id)).mfa.totp).toEqual(confirmedTotp);
      expect((await stored(doc._id)).mfa.totp).toBeNull();
    });

    it('10 parallel confirmations of one enrolment: exactly one wins', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp_pending: pending() } });
      let step = 0;
      expect((await all(10, () => users.confirmTotpEnrolment(doc._id, 'sealed-pending', now, ++step))).filter(Boolean)).toHaveLength(1);
    });

    it('removeTotp removes a confirmed factor and any pending enrolment, once', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp: confirmedTotp, totp_pending: pending() } });
      expect(await users.removeTotp(doc._id, now)).toBe(true);
      expect(await stored(doc._id)).toMatchObject({ mfa: { totp: null, totp_pending: null }, updated_at: now });
      expect(await users.removeTotp(doc._id, now)).toBe(false);
    });

    it('removeTotp refuses an unconfirmed or absent factor', async () => {
      const unconfirmed = await inserted({ mfa: { ...user().mfa, totp: { ...confirmedTotp, confirmed_at: null }, totp_pending: pending() } });
      expect(await users.removeTotp(unconfirmed._id, now)).toBe(false);
      expect((await stored(unconfirmed._id)).mfa.totp_pending).toEqual(pending());
      expect(await users.removeTotp((await inserted())._id, now)).toBe(false);
    });

    it('10 parallel removals: exactly one reports it', async () => {
      const doc = await inserted({ mfa: { ...user().mfa, totp: confirmedTotp } });
      expect((await all(10, () => users.removeTotp(doc._id, now))).filter(Boolean)).toHaveLength(1);
    });
  });

  describe('WebAuthn count', () => {
    it('adjustWebauthnCount counts up from nothing and down again', async () => {
      const doc = await inserted();
      await users.adjustWebauthnCount(doc._id, 1, now);
      await users.adjustWebauthnCount(doc._id, 1, now);
      expect(await stored(doc._id)).toMatchObject({ mfa: { webauthn_count: 2 }, updated_at: now });
      await users.adjustWebauthnCount(doc._id, -1, at(minute));
      expect(await stored(doc._id)).toMatchObject({ mfa: { webauthn_count: 1 }, updated_at: at(minute) });
    });

    it('parallel adjustments are none lost', async () => {
      const doc = await inserted();
      await all(10, () => users.adjustWebauthnCount(doc._id, 1, now));
      expect((await stored(doc._id)).mfa.webauthn_count).toBe(10);
    });
  });
});
