import { ObjectId } from 'mongodb';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import { checkPassword } from '../passwords/password-policy.ts';
import type { PasswordHasher } from '../passwords/hasher.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { DuplicateEmailError, normaliseEmail, type Users } from '../users/users.ts';
import type { Flows } from '../flows/flows.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AttemptCounter } from '../rate-limit/attempt-counter.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { CaptchaVerifier } from './captcha.ts';
import { linkWithToken, requireAllowedRedirect } from './redirects.ts';
import { userPublicId } from '../../core/public-ids.ts';

export const verificationTtlSeconds = 24 * 3600;

/** Registrations per client address per window (REGISTER_RATE_LIMIT, REGISTER_RATE_WINDOW). */
export interface RateLimit {
  perAddress: number;
  windowSeconds: number;
}

interface Deps {
  users: Users;
  tenants: Tenants;
  hasher: PasswordHasher;
  flows: Flows;
  mailer: Mailer;
  audit: AuditLog;
  counter: AttemptCounter;
  captcha: CaptchaVerifier;
}

export interface RegisterInput {
  email: string;
  password: string;
  firstName: string;
  lastName: string;
  captchaToken: string | null | undefined;
  redirectUri: string | null | undefined;
  customData: Record<string, unknown> | null | undefined;
}

/**
 * Self-registration and email verification. Registering an address that already has an account
 * answers exactly like a new registration (same shape, same work) and emails the owner instead.
 */
export class Registration {
  constructor(
    private readonly deps: Deps,
    private readonly settings: { publicBaseUrl: string; rateLimit: RateLimit },
  ) {}

  async register(slug: string, input: RegisterInput, client: ClientInfo): Promise<{ user_id: string; status: string; message: string }> {
    const tenant = await this.deps.tenants.requireActiveBySlug(slug);
    if (!tenant.settings.self_registration) throw new ApiError('registrationDisabled');
    const redirectUri = requireAllowedRedirect(tenant, input.redirectUri);
    if (!(await this.deps.captcha.verify(input.captchaToken, client.clientIp))) throw new ApiError('captchaFailed');
    validateName(input.firstName, 'first_name');
    validateName(input.lastName, 'last_name');
    checkPassword(input.password, tenant.settings.password_policy, 'password', { email: input.email });
    const customData = sanitiseCustomData(input.customData);
    await this.deps.counter.enforce(`register:ip:${client.clientIp}`, this.settings.rateLimit.perAddress, this.settings.rateLimit.windowSeconds);

    const pending = tenant.settings.require_email_verification;
    const answer = (userId: string) => ({
      user_id: userId,
      status: pending ? 'pending_verification' : 'active',
      message: pending ? 'Check your email to verify your address and finish signing up.' : 'Your account has been created.',
    });
    let user: UserDoc;
    try {
      user = await this.deps.users.create({
        tenant,
        email: input.email,
        password: input.password,
        firstName: input.firstName.trim(),
        lastName: input.lastName.trim(),
        status: pending ? 'pending' : 'active',
        emailVerified: false,
        customData,
      });
    } catch (error) {
      if (!(error instanceof DuplicateEmailError)) throw error;
      await this.notifyExistingOwner(tenant, input.email, redirectUri);
      // Indistinguishable from a new account: a fresh id that will never resolve.
      return answer(userPublicId(new ObjectId()));
    }
    await this.sendVerification(tenant, user, redirectUri);
    await this.deps.audit.record({ type: 'register', outcome: 'success', tenantId: tenant._id, userId: user._id, ...client });
    return answer(userPublicId(user._id));
  }

  async verifyEmail(slug: string, token: string): Promise<{ message: string; email_verified: boolean }> {
    const tenant = await this.deps.tenants.requireActiveBySlug(slug);
    const flow = await this.deps.flows.findLive('verify_email', token);
    if (!flow?.user_id || !flow.tenant_id?.equals(tenant._id)) throw new ApiError('invalidLinkToken');
    if (!(await this.deps.flows.consume(flow))) throw new ApiError('invalidLinkToken');
    const user = await this.deps.users.findById(flow.user_id);
    // The address must still be the one the link was sent to.
    if (!user || user.email_normalized !== flow.email_normalized) throw new ApiError('invalidLinkToken');
    await this.deps.users.markEmailVerified(user._id);
    await this.deps.audit.record({ type: 'email.verified', outcome: 'success', tenantId: tenant._id, userId: user._id });
    return { message: 'Your email address has been verified.', email_verified: true };
  }

  /** Profile's "send me a new verification email"; rate limited per user. */
  async resendVerification(user: UserDoc): Promise<{ message: string }> {
    if (user.email_verified) return { message: 'Email address is already verified.' };
    const tenant = await this.deps.tenants.findActiveById(user.tenant_id);
    if (!tenant) throw new ApiError('invalidToken');
    await this.deps.counter.enforce(`verify-email:user:${user._id.toHexString()}`, 3, 3600);
    await this.sendVerification(tenant, user, null);
    return { message: 'Verification email sent.' };
  }

  async sendVerification(tenant: TenantDoc, user: UserDoc, redirectUri: string | null): Promise<void> {
    const { token } = await this.deps.flows.start('verify_email', verificationTtlSeconds, {
      user_id: user._id,
      tenant_id: tenant._id,
      email_normalized: user.email_normalized,
      channel: 'tenant',
      redirect_uri: redirectUri,
    });
    // The hosted landing page calls GET …/verify-email with the token, then offers to sign in.
    const link = linkWithToken(`${this.settings.publicBaseUrl}/t/${tenant.slug}/verify-email`, token);
    await this.deps.mailer.send({
      to: user.email,
      template: 'verify_email',
      locale: user.locale,
      data: { name: user.first_name, link, expiresInMinutes: verificationTtlSeconds / 60, tenantName: tenant.name },
    });
  }

  private async notifyExistingOwner(tenant: TenantDoc, email: string, redirectUri: string | null): Promise<void> {
    const owner = await this.deps.users.findInTenant(tenant._id, normaliseEmail(email));
    if (!owner || owner.status === 'disabled') return;
    // Also spend the hashing time a new account would have cost.
    await this.deps.hasher.hash('timing-equaliser');
    await this.deps.mailer.send({
      to: owner.email,
      template: 'register_existing_account',
      locale: owner.locale,
      data: {
        name: owner.first_name,
        signInLink: redirectUri ?? `${this.settings.publicBaseUrl}/t/${tenant.slug}/login`,
        resetLink: `${this.settings.publicBaseUrl}/t/${tenant.slug}/forgot-password`,
        tenantName: tenant.name,
      },
    });
  }

}

function validateName(value: string, field: string): void {
  // Same rule as the spec's pattern: no control characters, at least one visible character.
  if (!/^[^\u0000-\u001f\u007f]*[^\u0000-\u0020\u007f][^\u0000-\u001f\u007f]*$/.test(value)) {
    throw new InvalidInput({ field, reason: 'must be a non-empty name without control characters' });
  }
}

/** custom_data is stored as given, so keys that MongoDB treats specially are refused. */
export function sanitiseCustomData(data: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (data === null || data === undefined) return null;
  const fail = (msg: string) => new InvalidInput({ field: 'custom_data', reason: msg });
  if (Buffer.byteLength(JSON.stringify(data)) > 8192) throw fail('custom_data must be at most 8 KiB of JSON');
  const walk = (value: unknown, depth: number): void => {
    if (depth > 8) throw fail('custom_data is nested too deeply');
    if (Array.isArray(value)) value.forEach((v) => walk(v, depth + 1));
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key.startsWith('$') || key.includes('.') || key.includes('\u0000') || key === '__proto__' || key === 'constructor') {
          throw fail(`key "${key.slice(0, 40)}" is not allowed`);
        }
        walk(inner, depth + 1);
      }
    }
  };
  walk(data, 0);
  return data;
}
