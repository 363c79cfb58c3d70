import type { ObjectId } from 'mongodb';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import { parsePublicId, partnerIdPattern, tenantPublicId, userPublicId, noSuchId } from '../../core/public-ids.ts';
import type { AuditEventStore } from '../../store/audit-events.ts';
import type { SessionDoc, SessionStore } from '../../store/sessions.ts';
import type { TenantDoc, TenantStore } from '../../store/tenants.ts';
import type { AdminRoleName, UserAdminChanges, UserDoc, UserStatus, UserStore } from '../../store/users.ts';
import type { WebAuthnCredentialStore } from '../../store/webauthn-credentials.ts';
import type { Clock } from '../../core/clock.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { TrustedDevices } from '../mfa/trusted-devices.ts';
import type { PasswordReset } from '../password-reset/password-reset.ts';
import { checkPassword } from '../passwords/password-policy.ts';
import type { LoginThrottle } from '../rate-limit/login-throttle.ts';
import type { Sessions } from '../sessions/sessions.ts';
import { isPlatformTenant, type Tenants } from '../tenants/tenants.ts';
import { DuplicateEmailError, type Users } from '../users/users.ts';
import { actorSummary, type AdminActor, type AdminReach } from './admin-access.ts';
import { adminRoleNames } from './admin-roles.ts';
import type { AdminRequest } from './application-admin.ts';
import type { PartnerLimits } from '../partners/partner-limits.ts';

/** Statuses as the admin API names them: `disabled` is shown as `suspended`; a soft-deleted user is `deleted`. */
export type UserApiStatus = 'pending' | 'active' | 'locked' | 'suspended' | 'deleted';

export function apiStatus(user: UserDoc): UserApiStatus {
  if (user.deleted_at) return 'deleted';
  return user.status === 'disabled' ? 'suspended' : user.status;
}

function storeStatus(status: string): UserStatus | 'deleted' {
  switch (status) {
    case 'pending': case 'active': case 'locked': case 'deleted': return status;
    case 'suspended': return 'disabled';
    default: throw new InvalidInput({ field: 'status', reason: 'must be one of pending, active, locked, suspended, deleted' });
  }
}

/** The second factors a user has, without any secret. */
export function mfaSummary(user: UserDoc) {
  const methods: Array<'totp' | 'webauthn' | 'email'> = [];
  if (user.mfa.totp?.confirmed_at) methods.push('totp');
  if ((user.mfa.webauthn_count ?? 0) > 0) methods.push('webauthn');
  if (user.mfa.email_enabled) methods.push('email');
  return {
    enabled: methods.length > 0,
    methods,
    totp: Boolean(user.mfa.totp?.confirmed_at),
    webauthn_credentials: Math.max(0, user.mfa.webauthn_count ?? 0),
    email: user.mfa.email_enabled,
    backup_codes_remaining: user.mfa.backup_codes.length,
  };
}

/** A user as the admin API shows it: never a password hash nor an MFA secret. */
export function userAdminView(user: UserDoc) {
  return {
    id: userPublicId(user._id),
    tenant_id: tenantPublicId(user.tenant_id),
    email: user.email,
    email_verified: user.email_verified,
    status: apiStatus(user),
    first_name: user.first_name,
    last_name: user.last_name,
    display_name: user.display_name,
    phone: user.phone,
    locale: user.locale,
    timezone: user.timezone,
    title: user.title ?? null,
    department: user.department ?? null,
    custom_attributes: user.custom_data ?? {},
    has_password: user.password_hash !== null,
    mfa: mfaSummary(user),
    admin_role: user.admin ? { role: user.admin.role, partner_id: user.admin.role === 'partner_admin' ? user.admin.partner_id : null, granted_at: user.admin.granted_at.toISOString() } : null,
    locked_until: user.locked_until ? user.locked_until.toISOString() : null,
    password_changed_at: user.password_changed_at ? user.password_changed_at.toISOString() : null,
    deleted_at: user.deleted_at ? user.deleted_at.toISOString() : null,
    created_at: user.created_at.toISOString(),
    updated_at: user.updated_at.toISOString(),
  };
}

export type UserAdminView = ReturnType<typeof userAdminView>;

export interface UserFilters {
  page: number;
  perPage: number;
  search?: string | undefined;
  status?: string | undefined;
  tenantId?: string | undefined;
  partnerId?: string | undefined;
}

export interface UserCreateInput {
  tenant_id?: string | null | undefined;
  email: string;
  password?: string | null | undefined;
  first_name?: string | null | undefined;
  last_name?: string | null | undefined;
  display_name?: string | null | undefined;
  phone?: string | null | undefined;
  locale?: string | null | undefined;
  timezone?: string | null | undefined;
  title?: string | null | undefined;
  department?: string | null | undefined;
  custom_attributes?: Record<string, unknown> | null | undefined;
  email_verified?: boolean | undefined;
  send_invitation?: boolean | undefined;
}

export type UserPatch = Partial<Omit<UserCreateInput, 'tenant_id' | 'email' | 'password' | 'send_invitation'>>;

const rank: Record<AdminRoleName, number> = { tenant_admin: 1, partner_admin: 2, super_admin: 3 };
const patchable = ['first_name', 'last_name', 'display_name', 'phone', 'locale', 'timezone', 'title', 'department', 'email_verified'] as const;

interface Deps {
  users: Users;
  userStore: UserStore;
  tenants: Tenants;
  tenantStore: TenantStore;
  sessions: Sessions;
  sessionStore: SessionStore;
  webauthnCredentials: WebAuthnCredentialStore;
  trustedDevices: TrustedDevices;
  throttle: LoginThrottle;
  passwordReset: PasswordReset;
  auditEvents: AuditEventStore;
  audit: AuditLog;
  clock: Clock;
  /** Gives a deleted user's slot back to its tenant's partner limit. */
  limits: PartnerLimits;
}

/**
 * The Users group of the admin API (docs §8.7). Reach: super admins (and GLOBAL platform tokens)
 * every user; partner admins the users of their partner's tenants; tenant admins their own
 * tenant's. Users of the reserved platform tenant only platform reach. Anything else is 404 (no
 * oracle). Within reach, a user holding a higher admin role than the caller's answers 403 to
 * writes; an administrator's own suspend, delete or demotion answers 409. Every write is one
 * conditional update (deleted users are excluded in the filter) and is audited, refusals too.
 * Writes to users and sessions are announced to other replicas by the cache invalidation, so a
 * suspended user's tokens stop working everywhere within AUTH_CACHE_POLL_MS.
 */
export class UserAdmin {
  constructor(private readonly deps: Deps) {}

  async list(actor: AdminActor, filters: UserFilters) {
    let tenantIds = await this.reachableTenantIds(actor.reach);
    if (filters.tenantId !== undefined) {
      const id = parsePublicId('tenant', filters.tenantId) ?? noSuchId;
      tenantIds = tenantIds ? tenantIds.filter((t) => t.equals(id)) : [id];
    }
    if (filters.partnerId !== undefined) {
      const ofPartner = await this.deps.tenants.idsOfPartner(filters.partnerId);
      tenantIds = tenantIds ? tenantIds.filter((t) => ofPartner.some((p) => p.equals(t))) : ofPartner;
    }
    const query = {
      tenantIds,
      ...(filters.status !== undefined ? { status: storeStatus(filters.status) } : {}),
      ...(filters.search ? { search: filters.search } : {}),
    };
    const { items, total } = await this.deps.userStore.adminList(query, (filters.page - 1) * filters.perPage, filters.perPage);
    return { items: items.map(userAdminView), total, page: filters.page, per_page: filters.perPage };
  }

  async get(actor: AdminActor, id: string): Promise<UserAdminView> {
    return userAdminView((await this.visible(actor, id, { includeDeleted: true })).user);
  }

  async mfa(actor: AdminActor, id: string) {
    const { user } = await this.visible(actor, id);
    return { user_id: userPublicId(user._id), ...mfaSummary(user), backup_codes_created_at: user.mfa.backup_codes_created_at?.toISOString() ?? null };
  }

  async create(actor: AdminActor, input: UserCreateInput, request: AdminRequest): Promise<UserAdminView> {
    return this.audited(actor, request, 'admin.user.create', null, async () => {
      const tenant = await this.tenantForCreate(actor, input.tenant_id ?? null);
      if (input.password) checkPassword(input.password, tenant.settings.password_policy, 'password', { email: input.email });
      if (input.password && input.send_invitation) throw new InvalidInput({ field: 'send_invitation', reason: 'an invitation is for a user created without a password' });
      let user: UserDoc;
      try {
        user = await this.deps.users.create({
          tenant,
          email: input.email,
          password: input.password ?? null,
          firstName: input.first_name ?? null,
          lastName: input.last_name ?? null,
          emailVerified: input.email_verified ?? false,
          customData: input.custom_attributes ?? null,
          status: 'active',
        });
      } catch (error) {
        if (error instanceof DuplicateEmailError) throw new ApiError('userEmailTaken');
        throw error;
      }
      const extra: UserAdminChanges = {};
      for (const field of ['display_name', 'phone', 'locale', 'timezone', 'title', 'department'] as const) if (input[field] !== undefined && input[field] !== null) extra[field] = input[field];
      if (Object.keys(extra).length > 0) user = (await this.deps.userStore.adminUpdate(user._id, extra, this.deps.clock.now())) ?? user;
      if (input.send_invitation) await this.deps.passwordReset.sendInvitation(tenant._id.toHexString(), user.email, request);
      return { result: userAdminView(user), target: user, details: { invitation: input.send_invitation === true, password_set: Boolean(input.password) } };
    });
  }

  async update(actor: AdminActor, id: string, patch: UserPatch, request: AdminRequest): Promise<UserAdminView> {
    return this.audited(actor, request, 'admin.user.update', id, async () => {
      const { user } = await this.manageable(actor, id);
      const changes: UserAdminChanges = {};
      for (const field of patchable) if (patch[field] !== undefined) (changes as Record<string, unknown>)[field] = patch[field];
      if (patch.custom_attributes !== undefined) changes.custom_data = patch.custom_attributes;
      const updated = Object.keys(changes).length === 0 ? user : await this.deps.userStore.adminUpdate(user._id, changes, this.deps.clock.now());
      if (!updated) throw new ApiError('notFound');
      return { result: userAdminView(updated), target: updated, details: { fields: Object.keys(changes) } };
    });
  }

  async remove(actor: AdminActor, id: string, request: AdminRequest): Promise<void> {
    await this.audited(actor, request, 'admin.user.delete', id, async () => {
      const { user, tenant } = await this.manageable(actor, id, { notSelf: true });
      const deleted = await this.deps.userStore.softDelete(user._id, user.email_normalized, this.deps.clock.now());
      if (!deleted) throw new ApiError('notFound');
      // The guarded soft delete succeeds once, so the slot is given back once.
      await this.deps.limits.releaseUser(tenant);
      const sessions = await this.deps.sessions.revokeAllForUser(user._id, 'user deleted');
      await this.deps.trustedDevices.revokeAll(user._id);
      return { result: undefined, target: deleted, details: { sessions_revoked: sessions } };
    });
  }

  async suspend(actor: AdminActor, id: string, request: AdminRequest): Promise<UserAdminView> {
    return this.audited(actor, request, 'admin.user.suspend', id, async () => {
      const { user } = await this.manageable(actor, id, { notSelf: true });
      const updated = await this.deps.userStore.transitionStatus(user._id, ['active', 'pending', 'locked', 'disabled'], 'disabled', this.deps.clock.now());
      if (!updated) throw new ApiError('notFound');
      // Ends every session and its refresh tokens; the status change alone stops access tokens.
      const sessions = await this.deps.sessions.revokeAllForUser(user._id, 'user suspended');
      return { result: userAdminView(updated), target: updated, details: { previous_status: apiStatus(user), sessions_revoked: sessions } };
    });
  }

  async activate(actor: AdminActor, id: string, request: AdminRequest): Promise<UserAdminView> {
    return this.audited(actor, request, 'admin.user.activate', id, async () => {
      const { user } = await this.manageable(actor, id);
      const updated = await this.deps.userStore.transitionStatus(user._id, ['disabled', 'locked', 'pending', 'active'], 'active', this.deps.clock.now());
      if (!updated) throw new ApiError('notFound');
      return { result: userAdminView(updated), target: updated, details: { previous_status: apiStatus(user) } };
    });
  }

  async resetPassword(actor: AdminActor, id: string, input: { password?: string | null | undefined; send_email?: boolean | undefined }, request: AdminRequest) {
    return this.audited(actor, request, 'admin.user.password_reset', id, async () => {
      const hasPassword = typeof input.password === 'string';
      if (hasPassword === (input.send_email === true)) {
        throw new InvalidInput({ field: hasPassword ? 'send_email' : 'password', reason: 'give either a password or send_email: true' });
      }
      const { user, tenant } = await this.manageable(actor, id);
      if (hasPassword) {
        // A bearer token alone must not replace its own account's password: that would turn a
        // stolen admin token into a permanent takeover. The profile asks for the current one.
        if (actor.kind === 'user' && actor.userId.equals(user._id)) throw new ApiError('adminSelfPassword');
        checkPassword(input.password!, tenant.settings.password_policy, 'password', { email: user.email });
        await this.deps.users.setPassword(user._id, input.password!);
        const sessions = await this.deps.sessions.revokeAllForUser(user._id, 'password set by admin');
        await this.deps.trustedDevices.revokeAll(user._id);
        return { result: { message: 'Password set. All sessions of the user were ended.', email_sent: false, sessions_revoked: sessions }, target: user, details: { mode: 'set', sessions_revoked: sessions } };
      }
      if (user.status === 'disabled') throw new ApiError('userSuspended');
      await this.deps.passwordReset.sendLinkFor(tenant._id.toHexString(), user.email, request);
      return { result: { message: 'A password reset link was sent to the user.', email_sent: true, sessions_revoked: 0 }, target: user, details: { mode: 'email' } };
    });
  }

  async unlock(actor: AdminActor, id: string, request: AdminRequest): Promise<UserAdminView> {
    return this.audited(actor, request, 'admin.user.unlock', id, async () => {
      const { user, tenant } = await this.manageable(actor, id);
      // Both places a lockout lives: the sign-in throttle's account counter and the user's own fields.
      await this.deps.throttle.resetAccount(tenant, user.email_normalized);
      const updated = await this.deps.userStore.unlock(user._id, this.deps.clock.now());
      if (!updated) throw new ApiError('notFound');
      return { result: userAdminView(updated), target: updated };
    });
  }

  async resetMfa(actor: AdminActor, id: string, request: AdminRequest): Promise<UserAdminView> {
    return this.audited(actor, request, 'user.mfa_reset', id, async () => {
      const { user } = await this.manageable(actor, id);
      // As with the password: a token alone must not strip its own account of its second factors.
      if (actor.kind === 'user' && actor.userId.equals(user._id)) throw new ApiError('adminSelfMfa');
      const before = await this.deps.userStore.resetMfa(user._id, this.deps.clock.now());
      if (!before) throw new ApiError('notFound');
      const webauthn = await this.deps.webauthnCredentials.deleteAllForUser(user._id);
      await this.deps.trustedDevices.revokeAll(user._id);
      const sessions = await this.deps.sessions.revokeAllForUser(user._id, 'mfa reset by admin');
      const after = (await this.deps.users.findById(user._id)) ?? before;
      return { result: userAdminView(after), target: after, details: { removed: mfaSummary(before).methods, webauthn_credentials_deleted: webauthn, sessions_revoked: sessions } };
    });
  }

  async sessions(actor: AdminActor, id: string, page: number, perPage: number) {
    const { user } = await this.visible(actor, id);
    const { items, total } = await this.deps.sessionStore.pageLiveForUser(user._id, this.deps.clock.now(), (page - 1) * perPage, perPage);
    return { items: items.map(sessionView), total, page, per_page: perPage };
  }

  async revokeSessions(actor: AdminActor, id: string, request: AdminRequest): Promise<{ revoked: number }> {
    return this.audited(actor, request, 'admin.user.sessions_revoked', id, async () => {
      const { user } = await this.manageable(actor, id);
      const revoked = await this.deps.sessions.revokeAllForUser(user._id, 'revoked by admin');
      return { result: { revoked }, target: user, details: { sessions_revoked: revoked } };
    });
  }

  async securityEvents(actor: AdminActor, id: string, page: number, perPage: number) {
    const { user } = await this.visible(actor, id, { includeDeleted: true });
    const { items, total } = await this.deps.auditEvents.pageForUser(user.tenant_id, user._id, (page - 1) * perPage, perPage);
    return {
      items: items.map((e) => ({ id: e._id.toHexString(), type: e.type, outcome: e.outcome, client_ip: e.client_ip, user_agent: e.user_agent, details: e.details, created_at: e.created_at.toISOString() })),
      total,
      page,
      per_page: perPage,
    };
  }

  async assignRole(actor: AdminActor, id: string, input: { role: string; partner_id?: string | null | undefined }, request: AdminRequest): Promise<UserAdminView> {
    return this.audited(actor, request, 'admin.user.role_assigned', id, async () => {
      if (!(adminRoleNames as readonly string[]).includes(input.role)) throw new InvalidInput({ field: 'role', reason: `must be one of ${adminRoleNames.join(', ')}` });
      const role = input.role as AdminRoleName;
      const partnerId = input.partner_id ?? null;
      if (role === 'partner_admin' && (!partnerId || !partnerIdPattern.test(partnerId))) throw new InvalidInput({ field: 'partner_id', reason: 'a partner_admin needs its partner id (prt_…)' });
      if (role !== 'partner_admin' && partnerId !== null) throw new InvalidInput({ field: 'partner_id', reason: 'only a partner_admin has a partner_id' });
      const { user, tenant } = await this.manageable(actor, id, { notSelf: true });
      // Only super admins grant partner_admin and super_admin (super_admin: only a signed-in super admin, never a token).
      if (role === 'super_admin' && !(actor.kind === 'user' && actor.role === 'super_admin')) throw new ApiError('adminOutOfReach', { internal: 'only a super admin grants super_admin' });
      if (role === 'partner_admin' && actor.reach.kind !== 'platform') throw new ApiError('adminOutOfReach', { internal: 'only a super admin grants partner_admin' });
      if (role === 'super_admin' && !isPlatformTenant(tenant)) throw new InvalidInput({ field: 'role', reason: 'super_admin is held by users of the platform tenant only' });
      if (role === 'tenant_admin' && isPlatformTenant(tenant)) throw new InvalidInput({ field: 'role', reason: 'the platform tenant has no tenant admins' });
      const updated = await this.deps.users.grantAdminRole(user._id, role, partnerId);
      return { result: userAdminView(updated), target: updated, details: { role, partner_id: partnerId, previous_role: user.admin?.role ?? null } };
    });
  }

  async removeRole(actor: AdminActor, id: string, request: AdminRequest): Promise<void> {
    await this.audited(actor, request, 'admin.user.role_removed', id, async () => {
      const { user } = await this.manageable(actor, id, { notSelf: true });
      if (!user.admin) throw new ApiError('notFound', { internal: 'holds no admin role' });
      if (!(await this.deps.users.revokeAdminRole(user._id))) throw new ApiError('notFound', { internal: 'role removed meanwhile' });
      return { result: undefined, target: user, details: { previous_role: user.admin.role } };
    });
  }

  /** Until federation exists no user has a federated link, so there is nothing to mismatch or fix. */
  async identitySourceMismatches(actor: AdminActor, tenantId: string | undefined, fix: boolean) {
    if (tenantId !== undefined) {
      const tenant = await this.tenantById(parsePublicId('tenant', tenantId));
      if (!tenant || !this.tenantInReach(actor.reach, tenant)) throw new ApiError('notFound');
    }
    // `fix` has nothing to repair yet; it is accepted so automation written for federation keeps working.
    void fix;
    return { items: [] as never[], total: 0, fixed: 0 };
  }

  // ---------------------------------------------------------------------------------------------

  private async reachableTenantIds(reach: AdminReach): Promise<ObjectId[] | null> {
    switch (reach.kind) {
      case 'platform': return null;
      case 'partner': return this.deps.tenants.idsOfPartner(reach.partnerId);
      case 'tenant': return [reach.tenantId];
    }
  }

  private tenantInReach(reach: AdminReach, tenant: TenantDoc): boolean {
    if (reach.kind === 'platform') return true;
    if (isPlatformTenant(tenant)) return false;
    if (reach.kind === 'partner') return tenant.partner_id === reach.partnerId;
    return tenant._id.equals(reach.tenantId);
  }

  private async tenantById(id: ObjectId | null): Promise<TenantDoc | null> {
    return id ? this.deps.tenantStore.findById(id) : null;
  }

  /** The user and its tenant when the caller may see it; 404 otherwise (and for deleted users unless asked). */
  private async visible(actor: AdminActor, id: string, options: { includeDeleted?: boolean } = {}): Promise<{ user: UserDoc; tenant: TenantDoc }> {
    const oid = parsePublicId('user', id);
    const user = oid ? await this.deps.users.findById(oid) : null;
    if (!user || (user.deleted_at && !options.includeDeleted)) throw new ApiError('notFound');
    const tenant = await this.tenantById(user.tenant_id);
    if (!tenant || !this.tenantInReach(actor.reach, tenant)) throw new ApiError('notFound');
    return { user, tenant };
  }

  /** Visible, and the caller's role is not below the target's admin role (403); `notSelf`: not the caller (409). */
  private async manageable(actor: AdminActor, id: string, options: { notSelf?: boolean } = {}): Promise<{ user: UserDoc; tenant: TenantDoc }> {
    const found = await this.visible(actor, id);
    if (options.notSelf && actor.kind === 'user' && actor.userId.equals(found.user._id)) throw new ApiError('adminSelfAction');
    const callerRank = actor.kind === 'user' ? rank[actor.role] : actor.reach.kind === 'platform' ? rank.super_admin : actor.reach.kind === 'partner' ? rank.partner_admin : rank.tenant_admin;
    if (found.user.admin && rank[found.user.admin.role] > callerRank) throw new ApiError('adminOutOfReach', { internal: 'target holds a higher admin role' });
    return found;
  }

  private async tenantForCreate(actor: AdminActor, tenantId: string | null): Promise<TenantDoc> {
    const reach = actor.reach;
    const wanted = tenantId !== null ? parsePublicId('tenant', tenantId) : reach.kind === 'tenant' ? reach.tenantId : null;
    if (tenantId === null && !wanted) throw new InvalidInput({ field: 'tenant_id', reason: 'the tenant of the new user is required' });
    const tenant = await this.tenantById(wanted);
    if (!tenant || !this.tenantInReach(reach, tenant)) {
      if (reach.kind === 'platform') throw new InvalidInput({ field: 'tenant_id', reason: 'no tenant has this id' });
      throw new ApiError('notFound', { internal: 'tenant outside reach or unknown' });
    }
    if (tenant.status !== 'active') throw new InvalidInput({ field: 'tenant_id', reason: 'the tenant is not active' });
    return tenant;
  }

  /** Runs an admin write and records it: actor, target, result, address and request id. */
  private async audited<T>(
    actor: AdminActor,
    request: AdminRequest,
    type: string,
    targetId: string | null,
    work: () => Promise<{ result: T; target: UserDoc; details?: Record<string, unknown> }>,
  ): Promise<T> {
    const base = { type, clientIp: request.clientIp, userAgent: request.userAgent };
    const details = (extra: Record<string, unknown>) => ({ actor: actorSummary(actor), request_id: request.requestId, ...extra });
    try {
      const { result, target, details: more } = await work();
      // Recorded on the target user, so it shows in the user's security events; the actor is in details.
      await this.deps.audit.record({ ...base, outcome: 'success', tenantId: target.tenant_id, userId: target._id, details: details({ target: { type: 'user', id: userPublicId(target._id) }, ...more }) });
      return result;
    } catch (error) {
      const reason = error instanceof ApiError ? error.id : error instanceof InvalidInput ? 'invalid_input' : 'error';
      await this.deps.audit.record({
        ...base,
        outcome: 'failure',
        tenantId: actor.kind === 'user' ? actor.user.tenant_id : null,
        userId: actor.kind === 'user' ? actor.userId : null,
        details: details({ target: { type: 'user', id: targetId }, reason }),
      });
      throw error;
    }
  }
}

function sessionView(session: SessionDoc) {
  return {
    id: session._id.toHexString(),
    user_id: userPublicId(session.user_id),
    tenant_id: tenantPublicId(session.tenant_id),
    client_id: session.oauth?.client_id ?? null,
    amr: session.amr,
    remember_me: session.remember_me,
    client_ip: session.client_ip,
    user_agent: session.user_agent,
    created_at: session.created_at.toISOString(),
    last_seen_at: session.last_seen_at.toISOString(),
    expires_at: new Date(Math.min(session.idle_expires_at.getTime(), session.absolute_expires_at.getTime())).toISOString(),
  };
}
