import { ObjectId } from 'mongodb';
import type { RecentDocuments } from '../../store/recent-documents.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { AdminRole, AdminRoleName, UserDoc, UserProfileChanges, UserStatus, UserStore } from '../../store/users.ts';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';
import type { PasswordHasher } from '../passwords/hasher.ts';
import { tenantPublicId, userPublicId } from '../../core/public-ids.ts';
import type { PartnerLimits } from '../partners/partner-limits.ts';

/** Emails compare case-insensitively after Unicode normalisation; the address as typed is kept for display. */
export function normaliseEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

export interface NewUser {
  tenant: TenantDoc;
  email: string;
  password: string | null;
  firstName?: string | null;
  lastName?: string | null;
  status?: UserStatus;
  emailVerified?: boolean;
  customData?: Record<string, unknown> | null;
  /** Created holding this admin role (the bootstrap admin: one insert, so it is never half made). */
  admin?: AdminRole | null;
}

export class DuplicateEmailError extends Error {
  override name = 'DuplicateEmailError';
}

export class Users {
  constructor(
    private readonly users: UserStore,
    private readonly clock: Clock,
    private readonly hasher: PasswordHasher,
    private readonly recent?: RecentDocuments<UserDoc>,
    /** The tenant's partner's `max_users_per_tenant`, held here: every user insert comes through create. */
    private readonly limits?: PartnerLimits,
  ) {}

  async create(input: NewUser): Promise<UserDoc> {
    const now = this.clock.now();
    const user: UserDoc = {
      _id: new ObjectId(),
      tenant_id: input.tenant._id,
      email: input.email.trim(),
      email_normalized: normaliseEmail(input.email),
      email_verified: input.emailVerified ?? false,
      password_hash: input.password === null ? null : await this.hasher.hash(input.password),
      status: input.status ?? 'active',
      first_name: input.firstName ?? null,
      last_name: input.lastName ?? null,
      display_name: null,
      phone: null,
      locale: null,
      timezone: null,
      custom_data: input.customData ?? null,
      mfa: { totp: null, email_enabled: false, backup_codes: [], backup_codes_created_at: null },
      failed_logins: 0,
      locked_until: null,
      password_changed_at: input.password === null ? null : now,
      ...(input.admin ? { admin: input.admin } : {}),
      created_at: now,
      updated_at: now,
    };
    // A slot under the partner's limit first (409 when full, nothing written), given back if the insert fails.
    const reserved = (await this.limits?.reserveUser(input.tenant)) ?? false;
    let inserted = false;
    try {
      inserted = await this.users.insert(user);
    } finally {
      if (!inserted && reserved) await this.limits!.releaseUser(input.tenant);
    }
    if (!inserted) throw new DuplicateEmailError('email already registered in this tenant');
    return user;
  }

  findById(id: ObjectId | string): Promise<UserDoc | null> {
    const key = typeof id === 'string' ? id : id.toHexString();
    if (!ObjectId.isValid(key)) return Promise.resolve(null);
    return this.users.findById(new ObjectId(key));
  }

  /**
   * The user as recently read by this process (see RecentDocuments: writes through ScaiKey evict
   * it, here at once and on other replicas within AUTH_CACHE_POLL_MS). For the hot checks of every
   * authenticated request and refresh; frozen, so callers never change it.
   */
  findRecentById(id: ObjectId): Promise<UserDoc | null> {
    const load = () => this.users.findById(id);
    return this.recent ? this.recent.get(id, load) : load();
  }

  findInTenant(tenantId: ObjectId, email: string): Promise<UserDoc | null> {
    return this.users.findInTenant(tenantId, normaliseEmail(email));
  }

  /**
   * The live (active) accounts with this email in every tenant, oldest first: what the portal
   * offers and checks a tenant-less password against. Pending accounts (anyone can register any
   * address in an open tenant), locked and disabled ones are never offered.
   */
  findLiveByEmail(email: string): Promise<UserDoc[]> {
    return this.users.listActiveByEmail(normaliseEmail(email), 50);
  }

  /** Live accounts with this email that hold an admin role (admin sign-in), oldest first. */
  findLiveAdminsByEmail(email: string): Promise<UserDoc[]> {
    return this.users.listActiveAdminsByEmail(normaliseEmail(email), 50);
  }

  /** Whether any account holds super_admin. */
  anySuperAdmin(): Promise<boolean> {
    return this.users.anySuperAdmin();
  }

  /** Gives a user one admin role; a partner_admin needs its partner (`prt_…`), the others none. */
  async grantAdminRole(userId: ObjectId, role: AdminRoleName, partnerId: string | null = null): Promise<UserDoc> {
    if (role === 'partner_admin' && !partnerId) throw new InvalidInput({ field: 'partner_id', reason: 'a partner_admin needs its partner id (prt_…)' });
    if (partnerId !== null && !/^prt_[A-Za-z0-9_-]{1,64}$/.test(partnerId)) throw new InvalidInput({ field: 'partner_id', reason: 'must be a partner id (prt_…)' });
    const updated = await this.users.grantAdminRole(userId, { role, partner_id: role === 'partner_admin' ? partnerId : null, granted_at: this.clock.now() }, this.clock.now());
    if (!updated) throw new ApiError('notFound');
    return updated;
  }

  revokeAdminRole(userId: ObjectId): Promise<boolean> {
    return this.users.revokeAdminRole(userId, this.clock.now());
  }

  async listInTenant(tenantId: ObjectId): Promise<UserDoc[]> {
    return this.users.listInTenant(tenantId);
  }

  async setPassword(userId: ObjectId, password: string): Promise<void> {
    const now = this.clock.now();
    await this.users.setPasswordHash(userId, await this.hasher.hash(password), now);
  }

  /**
   * Changes the password the caller verified as `verifiedHash`: false when it changed meanwhile
   * (a concurrent change won), and then nothing is written.
   */
  async changePassword(userId: ObjectId, verifiedHash: string, password: string): Promise<boolean> {
    return this.users.changePasswordHash(userId, verifiedHash, await this.hasher.hash(password), this.clock.now());
  }

  /** Re-hash at the current cost, only if nobody changed the password meanwhile. */
  async upgradeHash(user: UserDoc, password: string): Promise<void> {
    if (!user.password_hash || !this.hasher.needsRehash(user.password_hash)) return;
    await this.users.replacePasswordHash(user._id, user.password_hash, await this.hasher.hash(password));
  }

  /** Verifying the address activates an account that was waiting for it. */
  async markEmailVerified(userId: ObjectId): Promise<void> {
    await this.users.markEmailVerified(userId, this.clock.now());
  }

  async setStatus(userId: ObjectId, status: UserStatus): Promise<UserDoc | null> {
    return this.users.setStatus(userId, status, this.clock.now());
  }

  async update(userId: ObjectId, set: UserProfileChanges): Promise<UserDoc | null> {
    return this.users.updateProfile(userId, set, this.clock.now());
  }
}

/** MFA methods the user can use right now, limited to what the tenant allows. */
export function availableMfaMethods(user: UserDoc, tenant: TenantDoc): string[] {
  const allowed = new Set(tenant.settings.mfa_methods);
  const methods: string[] = [];
  if (allowed.has('totp') && user.mfa.totp?.confirmed_at) methods.push('totp');
  if (allowed.has('webauthn') && (user.mfa.webauthn_count ?? 0) > 0) methods.push('webauthn');
  if (allowed.has('email') && user.mfa.email_enabled && user.email_verified) methods.push('email');
  if (allowed.has('backup_code') && user.mfa.backup_codes.length > 0 && methods.length > 0) methods.push('backup_code');
  return methods;
}

export function portalUser(user: UserDoc, tenant: TenantDoc) {
  return {
    id: userPublicId(user._id),
    tenant_id: tenantPublicId(tenant._id),
    tenant_slug: tenant.slug,
    email: user.email,
    email_verified: user.email_verified,
    first_name: user.first_name,
    last_name: user.last_name,
    display_name: user.display_name,
  };
}
