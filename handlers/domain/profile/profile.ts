import { ObjectId } from 'mongodb';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import { ApiError, InvalidInput, type FieldProblem } from '../../core/errors.ts';
import type { UserPrincipal as Principal } from '../../core/request-context.ts';
import { checkPassword } from '../passwords/password-policy.ts';
import type { PasswordHasher } from '../passwords/hasher.ts';
import type { SignIn } from '../sign-in/sign-in.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { availableMfaMethods, portalUser, type Users } from '../users/users.ts';
import type { TrustedDevices } from '../mfa/trusted-devices.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { Clock } from '../../core/clock.ts';
import { authenticatedUser } from '../users/authenticated-user.ts';

export type ProfileFields = Partial<Record<'first_name' | 'last_name' | 'display_name' | 'phone' | 'locale' | 'timezone', string | null>>;

interface Deps {
  users: Users;
  tenants: Tenants;
  hasher: PasswordHasher;
  signIn: SignIn;
  sessions: Sessions;
  trustedDevices: TrustedDevices;
  mailer: Mailer;
  audit: AuditLog;
  clock: Clock;
}

const profileFieldNames = ['first_name', 'last_name', 'display_name', 'phone', 'locale', 'timezone'] as const;

const timeZones = new Set(Intl.supportedValuesOf('timeZone'));
timeZones.add('UTC');

/** The signed-in user's own account: profile, password. */
export class Profile {
  constructor(private readonly deps: Deps) {}

  async get(principal: Principal) {
    const { user, tenant } = await this.load(principal);
    return toProfile(user, tenant);
  }

  async update(principal: Principal, fields: ProfileFields) {
    const issues: FieldProblem[] = [];
    const set: ProfileFields = {};
    for (const key of profileFieldNames) {
      const raw = fields[key];
      if (raw === undefined) continue;
      // The router validated types; this guards callers that bypass it.
      if (raw !== null && typeof raw !== 'string') {
        issues.push({ field: key, reason: 'not a string', kind: 'string_type' });
        continue;
      }
      const value = raw === null ? null : raw.trim();
      if (value !== null && /[\u0000-\u001f\u007f]/.test(value)) {
        issues.push({ field: key, reason: 'control characters are not allowed' });
        continue;
      }
      if (key === 'locale' && value !== null) {
        try {
          set.locale = Intl.getCanonicalLocales(value)[0] ?? value;
        } catch {
          issues.push({ field: 'locale', reason: 'not a valid BCP 47 language tag' });
        }
        continue;
      }
      if (key === 'timezone' && value !== null && !timeZones.has(value)) {
        issues.push({ field: 'timezone', reason: 'not a known IANA time zone' });
        continue;
      }
      set[key] = value === '' ? null : value;
    }
    if (issues.length > 0) throw new InvalidInput(issues);
    const { tenant } = await this.load(principal);
    const updated = await this.deps.users.update(new ObjectId(principal.userId), set);
    if (!updated) throw new ApiError('invalidToken');
    return toProfile(updated, tenant);
  }

  async changePassword(principal: Principal, input: { currentPassword: string; newPassword: string }, client: ClientInfo): Promise<{ message: string }> {
    const { user, tenant } = await this.load(principal);
    await this.deps.signIn.confirmPassword(user, tenant, input.currentPassword, client, { type: 'password.change' });
    checkPassword(input.newPassword, tenant.settings.password_policy, 'new_password', { email: user.email });
    if (await this.deps.hasher.verify(input.newPassword, user.password_hash)) throw new ApiError('passwordReused');
    // Conditional on the hash just verified: of parallel changes one wins; the others' current
    // password is no longer current, which is what they are told.
    if (!user.password_hash || !(await this.deps.users.changePassword(user._id, user.password_hash, input.newPassword))) {
      throw new ApiError('currentPasswordIncorrect', { internal: 'password changed concurrently' });
    }
    await this.deps.sessions.revokeAllForUser(user._id, 'password changed', new ObjectId(principal.sessionId));
    await this.deps.trustedDevices.revokeAll(user._id);
    await this.deps.audit.record({ type: 'password.change', outcome: 'success', tenantId: tenant._id, userId: user._id, ...client });
    await this.deps.mailer.send({
      to: user.email,
      template: 'password_changed',
      locale: user.locale,
      data: { name: user.first_name, tenantName: tenant.name, when: this.deps.clock.now().toISOString(), clientIp: client.clientIp },
    });
    return { message: 'Password changed. Other sessions have been signed out.' };
  }

  async load(principal: Principal): Promise<{ user: UserDoc; tenant: TenantDoc }> {
    const [user, tenant] = await Promise.all([
      authenticatedUser(principal) ?? this.deps.users.findById(principal.userId),
      this.deps.tenants.findActiveById(principal.tenantId),
    ]);
    if (!user || !tenant) throw new ApiError('invalidToken');
    return { user, tenant };
  }
}

export function toProfile(user: UserDoc, tenant: TenantDoc) {
  const methods = availableMfaMethods(user, tenant);
  // Object.assign, not spread syntax: on GET /me, the hottest path, V8's spread into a literal
  // with more keys is far dearer than the rest of this function.
  return Object.assign(portalUser(user, tenant), {
    phone: user.phone,
    locale: user.locale,
    timezone: user.timezone,
    status: user.status,
    mfa_enabled: methods.length > 0,
    mfa_methods: methods,
    created_at: user.created_at.toISOString(),
    updated_at: user.updated_at.toISOString(),
  });
}
