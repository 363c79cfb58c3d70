import type { Collection, Filter, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export type UserStatus = 'pending' | 'active' | 'locked' | 'disabled';

export interface TotpEnrolment {
  secret_enc: string;
  confirmed_at: Date | null;
  /** Highest time step accepted so far: a code for this or an earlier step is a replay. */
  last_step: number;
}

export interface UserMfa {
  totp: TotpEnrolment | null;
  email_enabled: boolean;
  /** HMACs of the unused backup codes; using one pulls it out atomically. */
  backup_codes: string[];
  backup_codes_created_at: Date | null;
  /** An authenticator-app enrolment waiting for its first code; replaces nothing until confirmed. */
  totp_pending?: TotpPendingEnrolment | null;
  /** How many WebAuthn credentials the user has (they live in `webauthn_credentials`). */
  webauthn_count?: number;
}

export interface TotpPendingEnrolment {
  secret_enc: string;
  created_at: Date;
  expires_at: Date;
  failed_attempts: number;
}

export type AdminRoleName = 'super_admin' | 'partner_admin' | 'tenant_admin';

/**
 * An administrator's one role. `super_admin`: the platform; `partner_admin`: the partner
 * `partner_id` (`prt_…`; partners themselves arrive later, so the id is kept as given);
 * `tenant_admin`: the user's own tenant (`tenant_id` of the user).
 */
export interface AdminRole {
  role: AdminRoleName;
  partner_id: string | null;
  granted_at: Date;
}

export interface UserDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  email: string;
  /** Lower-cased, NFC-normalised email: the unique key within a tenant. */
  email_normalized: string;
  email_verified: boolean;
  password_hash: string | null;
  status: UserStatus;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  phone: string | null;
  locale: string | null;
  timezone: string | null;
  custom_data: Record<string, unknown> | null;
  mfa: UserMfa;
  /** Failed password attempts in the current lockout window. */
  failed_logins: number;
  locked_until: Date | null;
  password_changed_at: Date | null;
  /** The admin role the user holds, if any (absent on accounts created before admin roles). */
  admin?: AdminRole | null;
  /** Job title and department (admin API profile fields; absent on older accounts). */
  title?: string | null;
  department?: string | null;
  /** Set when an admin deleted the account (soft delete): it never signs in again and its email is freed. */
  deleted_at?: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** `users`: its indexes. */
export const usersCollection = defineCollection<UserDoc>({
  name: 'users',
  indexes: [
    { key: { tenant_id: 1, email_normalized: 1 }, name: 'tenant_email_unique', unique: true },
    { key: { email_normalized: 1 }, name: 'email_lookup' },
    { key: { 'admin.role': 1 }, name: 'admin_role' },
  ],
});

/** The profile fields an account holder or operator may change in one update. */
export type UserProfileChanges = Partial<Pick<UserDoc, 'first_name' | 'last_name' | 'display_name' | 'phone' | 'locale' | 'timezone' | 'email_verified'>>;

/** The fields the admin API's PATCH may set on a user (never the password, status or email). */
export type UserAdminChanges = Partial<Pick<UserDoc, 'first_name' | 'last_name' | 'display_name' | 'phone' | 'locale' | 'timezone' | 'email_verified' | 'custom_data' | 'title' | 'department'>>;

/** What the admin list filters on: tenants (null: all), a status (`deleted` for soft-deleted ones), a substring. */
export interface UserAdminQuery {
  tenantIds: ObjectId[] | null;
  status?: UserStatus | 'deleted';
  search?: string;
}

/** No confirmed TOTP factor yet (none at all, or one that was never confirmed). */
const totpUnconfirmed = { $or: [{ 'mfa.totp': null }, { 'mfa.totp.confirmed_at': null }] };

/**
 * Queries and conditional updates on `users`. Every change to security state is one update with
 * its precondition in the filter; the boolean results say whether this call made the change.
 */
export class UserStore {
  constructor(private readonly users: Collection<UserDoc>) {}

  /** False when the tenant already has an account with this normalised email. */
  async insert(user: UserDoc): Promise<boolean> {
    try {
      await this.users.insertOne(user);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  findById(id: ObjectId): Promise<UserDoc | null> {
    return this.users.findOne({ _id: id });
  }

  findInTenant(tenantId: ObjectId, emailNormalized: string): Promise<UserDoc | null> {
    return this.users.findOne({ tenant_id: tenantId, email_normalized: emailNormalized });
  }

  /** Active accounts with this email across tenants, oldest first (a stable order); at most `limit`. */
  listActiveByEmail(emailNormalized: string, limit: number): Promise<UserDoc[]> {
    return this.users.find({ email_normalized: emailNormalized, status: 'active' }).sort({ created_at: 1, _id: 1 }).limit(limit).toArray();
  }

  /** Active accounts with this email that hold an admin role, oldest first (admin sign-in). */
  listActiveAdminsByEmail(emailNormalized: string, limit: number): Promise<UserDoc[]> {
    return this.users
      .find({ email_normalized: emailNormalized, status: 'active', 'admin.role': { $in: ['super_admin', 'partner_admin', 'tenant_admin'] } })
      .sort({ created_at: 1, _id: 1 })
      .limit(limit)
      .toArray();
  }

  /** Whether any account holds the super_admin role (the bootstrap runs only when none does). */
  async anySuperAdmin(): Promise<boolean> {
    return (await this.users.findOne({ 'admin.role': 'super_admin' }, { projection: { _id: 1 } })) !== null;
  }

  /** Gives the user this role (replacing any other): one update by id; null when there is no such user. */
  grantAdminRole(userId: ObjectId, role: AdminRole, now: Date): Promise<UserDoc | null> {
    return this.users.findOneAndUpdate({ _id: userId }, { $set: { admin: role, updated_at: now } }, { returnDocument: 'after' });
  }

  /** Takes the role away; false when the user held none (so exactly one of racing revokes reports it). */
  async revokeAdminRole(userId: ObjectId, now: Date): Promise<boolean> {
    const result = await this.users.updateOne({ _id: userId, 'admin.role': { $exists: true, $ne: null } }, { $set: { admin: null, updated_at: now } });
    return result.modifiedCount === 1;
  }

  listInTenant(tenantId: ObjectId): Promise<UserDoc[]> {
    return this.users.find({ tenant_id: tenantId }).sort({ email_normalized: 1 }).toArray();
  }

  async setPasswordHash(userId: ObjectId, passwordHash: string, now: Date): Promise<void> {
    await this.users.updateOne({ _id: userId }, { $set: { password_hash: passwordHash, password_changed_at: now, updated_at: now } });
  }

  /**
   * A password change: the new hash replaces `current` only while it is still the stored one (the
   * hash the caller verified), so of concurrent changes exactly one gets true.
   */
  async changePasswordHash(userId: ObjectId, current: string, replacement: string, now: Date): Promise<boolean> {
    const result = await this.users.updateOne({ _id: userId, password_hash: current }, { $set: { password_hash: replacement, password_changed_at: now, updated_at: now } });
    return result.modifiedCount === 1;
  }

  /** Swaps the hash only while it is still `current`: a password changed meanwhile wins. */
  async replacePasswordHash(userId: ObjectId, current: string, replacement: string): Promise<boolean> {
    const result = await this.users.updateOne({ _id: userId, password_hash: current }, { $set: { password_hash: replacement } });
    return result.modifiedCount === 1;
  }

  /** Marks the address verified, then activates the account if (and only if) it was pending. */
  async markEmailVerified(userId: ObjectId, now: Date): Promise<void> {
    await this.users.updateOne({ _id: userId }, { $set: { email_verified: true, updated_at: now } });
    await this.users.updateOne({ _id: userId, status: 'pending' }, { $set: { status: 'active', updated_at: now } });
  }

  setStatus(userId: ObjectId, status: UserStatus, now: Date): Promise<UserDoc | null> {
    return this.users.findOneAndUpdate({ _id: userId }, { $set: { status, updated_at: now } }, { returnDocument: 'after' });
  }

  updateProfile(userId: ObjectId, changes: UserProfileChanges, now: Date): Promise<UserDoc | null> {
    return this.users.findOneAndUpdate({ _id: userId }, { $set: { ...changes, updated_at: now } }, { returnDocument: 'after' });
  }

  /** Turns email codes on; only for a verified address, and only once (false: already on or unverified). */
  async enableEmailMfa(userId: ObjectId, now: Date): Promise<boolean> {
    const result = await this.users.updateOne(
      { _id: userId, email_verified: true, 'mfa.email_enabled': { $ne: true } },
      { $set: { 'mfa.email_enabled': true, updated_at: now } },
    );
    return result.modifiedCount === 1;
  }

  /** False when email codes were already off. */
  async disableEmailMfa(userId: ObjectId, now: Date): Promise<boolean> {
    const result = await this.users.updateOne({ _id: userId, 'mfa.email_enabled': true }, { $set: { 'mfa.email_enabled': false, updated_at: now } });
    return result.modifiedCount === 1;
  }

  /** A new set of backup code HMACs replaces the old set entirely. */
  async replaceBackupCodes(userId: ObjectId, hmacs: string[], now: Date): Promise<void> {
    await this.users.updateOne({ _id: userId }, { $set: { 'mfa.backup_codes': hmacs, 'mfa.backup_codes_created_at': now, updated_at: now } });
  }

  /** Pulls one unused backup code out; true for exactly one of any number of racing claims. */
  async claimBackupCode(userId: ObjectId, hmac: string, now: Date): Promise<boolean> {
    const result = await this.users.updateOne(
      { _id: userId, 'mfa.backup_codes': hmac },
      { $pull: { 'mfa.backup_codes': hmac }, $set: { updated_at: now } },
    );
    return result.modifiedCount === 1;
  }

  /** Records a TOTP time step as used; false when this or a later step was used already (a replay). */
  async claimTotpStep(userId: ObjectId, step: number): Promise<boolean> {
    const result = await this.users.updateOne({ _id: userId, 'mfa.totp.last_step': { $lt: step } }, { $set: { 'mfa.totp.last_step': step } });
    return result.modifiedCount === 1;
  }

  /** Stores a pending authenticator-app enrolment; false when a confirmed TOTP factor exists. */
  async startTotpEnrolment(userId: ObjectId, pending: TotpPendingEnrolment): Promise<boolean> {
    const result = await this.users.updateOne({ _id: userId, ...totpUnconfirmed }, { $set: { 'mfa.totp_pending': pending } });
    return result.matchedCount === 1;
  }

  /**
   * Counts one code tried against the pending enrolment sealed as `secretEnc`, before the code is
   * checked; false when that enrolment is gone, replaced, expired or has used its `maxAttempts`.
   */
  async countTotpEnrolmentAttempt(userId: ObjectId, secretEnc: string, now: Date, maxAttempts: number): Promise<boolean> {
    const result = await this.users.updateOne(
      { ...pendingGuard(userId, secretEnc, now), 'mfa.totp_pending.failed_attempts': { $lt: maxAttempts } },
      { $inc: { 'mfa.totp_pending.failed_attempts': 1 } },
    );
    return result.matchedCount === 1;
  }

  /**
   * Makes the pending secret the TOTP factor, its first code's step counting as used; false when
   * the enrolment changed or expired meanwhile, or another confirmation won.
   */
  async confirmTotpEnrolment(userId: ObjectId, secretEnc: string, now: Date, step: number): Promise<boolean> {
    const result = await this.users.updateOne(
      { ...pendingGuard(userId, secretEnc, now), ...totpUnconfirmed },
      { $set: { 'mfa.totp': { secret_enc: secretEnc, confirmed_at: now, last_step: step }, 'mfa.totp_pending': null, updated_at: now } },
    );
    return result.matchedCount === 1;
  }

  /** True when this call removed a confirmed TOTP factor (and any pending enrolment with it). */
  async removeTotp(userId: ObjectId, now: Date): Promise<boolean> {
    const result = await this.users.updateOne(
      { _id: userId, 'mfa.totp.confirmed_at': { $ne: null } },
      { $set: { 'mfa.totp': null, 'mfa.totp_pending': null, updated_at: now } },
    );
    return result.modifiedCount === 1;
  }

  /** Keeps `mfa.webauthn_count` in step with the user's documents in `webauthn_credentials`. */
  async adjustWebauthnCount(userId: ObjectId, delta: 1 | -1, now: Date): Promise<void> {
    await this.users.updateOne({ _id: userId }, { $inc: { 'mfa.webauthn_count': delta }, $set: { updated_at: now } });
  }

  // --- Admin API (user-admin) -----------------------------------------------------------------

  /** A page of users for the admin list, by email then id, with the total matching. */
  async adminList(query: UserAdminQuery, skip: number, limit: number): Promise<{ items: UserDoc[]; total: number }> {
    const filter: Filter<UserDoc> = {};
    if (query.tenantIds) filter.tenant_id = { $in: query.tenantIds };
    if (query.status === 'deleted') filter.deleted_at = { $ne: null, $exists: true };
    else {
      filter.deleted_at = null;
      if (query.status) filter.status = query.status;
    }
    if (query.search) {
      const pattern = new RegExp(query.search.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
      filter.$or = [{ email: pattern }, { first_name: pattern }, { last_name: pattern }, { display_name: pattern }];
    }
    const [items, total] = await Promise.all([
      this.users.find(filter).sort({ email_normalized: 1, _id: 1 }).skip(skip).limit(limit).toArray(),
      this.users.countDocuments(filter),
    ]);
    return { items, total };
  }

  /** Moves a live (not deleted) user from one of `from` to `to`; null when it was in none of them. */
  transitionStatus(userId: ObjectId, from: UserStatus[], to: UserStatus, now: Date): Promise<UserDoc | null> {
    return this.users.findOneAndUpdate(
      { _id: userId, deleted_at: null, status: { $in: from } },
      { $set: { status: to, updated_at: now } },
      { returnDocument: 'after' },
    );
  }

  /** Profile fields of a live user; null when it is gone or deleted. */
  adminUpdate(userId: ObjectId, changes: UserAdminChanges, now: Date): Promise<UserDoc | null> {
    return this.users.findOneAndUpdate({ _id: userId, deleted_at: null }, { $set: { ...changes, updated_at: now } }, { returnDocument: 'after' });
  }

  /**
   * Soft delete: disabled, `deleted_at` set, admin role gone, and the unique key renamed so the
   * address can be registered again (the typed address stays in `email`). One update, guarded on
   * the key it renames; null when it was deleted (or changed) meanwhile.
   */
  softDelete(userId: ObjectId, emailNormalized: string, now: Date): Promise<UserDoc | null> {
    return this.users.findOneAndUpdate(
      { _id: userId, deleted_at: null, email_normalized: emailNormalized },
      { $set: { status: 'disabled', deleted_at: now, updated_at: now, admin: null, email_normalized: `deleted:${userId.toHexString()}:${emailNormalized}` } },
      { returnDocument: 'after' },
    );
  }

  /** Clears the lockout state kept on the user (counters, lock time, a `locked` status); null when deleted. */
  async unlock(userId: ObjectId, now: Date): Promise<UserDoc | null> {
    const cleared = await this.users.findOneAndUpdate({ _id: userId, deleted_at: null }, { $set: { failed_logins: 0, locked_until: null, updated_at: now } }, { returnDocument: 'after' });
    if (!cleared || cleared.status !== 'locked') return cleared;
    return (await this.users.findOneAndUpdate({ _id: userId, status: 'locked' }, { $set: { status: 'active', updated_at: now } }, { returnDocument: 'after' })) ?? this.users.findOne({ _id: userId });
  }

  /** Removes every second factor kept on the user in one update; the document as it was before (null: deleted or gone). */
  resetMfa(userId: ObjectId, now: Date): Promise<UserDoc | null> {
    return this.users.findOneAndUpdate(
      { _id: userId, deleted_at: null },
      { $set: { 'mfa.totp': null, 'mfa.totp_pending': null, 'mfa.email_enabled': false, 'mfa.backup_codes': [], 'mfa.backup_codes_created_at': null, 'mfa.webauthn_count': 0, updated_at: now } },
      { returnDocument: 'before' },
    );
  }

  /** Users of a tenant that are not deleted (a partner's per-tenant limit counts them). */
  countInTenant(tenantId: ObjectId): Promise<number> {
    return this.users.countDocuments({ tenant_id: tenantId, deleted_at: null });
  }
}

/** The pending enrolment sealed as `secretEnc`, still live at `now`. */
function pendingGuard(userId: ObjectId, secretEnc: string, now: Date) {
  return { _id: userId, 'mfa.totp_pending.secret_enc': secretEnc, 'mfa.totp_pending.expires_at': { $gt: now } };
}
