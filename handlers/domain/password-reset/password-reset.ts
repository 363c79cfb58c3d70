import type { Logger } from 'pino';
import { ApiError } from '../../core/errors.ts';
import { checkPassword } from '../passwords/password-policy.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { normaliseEmail, type Users } from '../users/users.ts';
import type { Flows } from '../flows/flows.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AttemptCounter } from '../rate-limit/attempt-counter.ts';
import type { LoginThrottle } from '../rate-limit/login-throttle.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { TrustedDevices } from '../mfa/trusted-devices.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { Clock } from '../../core/clock.ts';
import { linkWithToken, requireAllowedRedirect } from '../registration/redirects.ts';

export const resetTtlSeconds = 3600;
/** An invitation's link lives longer than a reset link: the invitee may read it days later. */
export const invitationTtlSeconds = 3 * 86_400;
/** Reset requests per client address and per account per window (FORGOT_PASSWORD_RATE_LIMIT, …_EMAIL_LIMIT, …_WINDOW). */
export interface ForgotRateLimit {
  perAddress: number;
  perEmail: number;
  windowSeconds: number;
}

export const forgotPasswordMessage = 'If an account exists for this email, a password reset link has been sent.';

interface Deps {
  users: Users;
  tenants: Tenants;
  flows: Flows;
  mailer: Mailer;
  audit: AuditLog;
  counter: AttemptCounter;
  sessions: Sessions;
  trustedDevices: TrustedDevices;
  throttle: LoginThrottle;
  clock: Clock;
  logger: Logger;
}

/**
 * Forgotten passwords. The request answers before any account lookup happens (the work continues
 * in the background), so known and unknown emails look the same in body, status and time.
 */
export class PasswordReset {
  private readonly background = new Set<Promise<void>>();

  constructor(
    private readonly deps: Deps,
    private readonly settings: { publicBaseUrl: string; rateLimit: ForgotRateLimit },
  ) {}

  async forgot(slug: string, input: { email: string; redirectUri: string | null | undefined }, client: ClientInfo): Promise<{ message: string }> {
    const tenant = await this.deps.tenants.requireActiveBySlug(slug);
    const redirectUri = requireAllowedRedirect(tenant, input.redirectUri);
    const email = normaliseEmail(input.email);
    const { perAddress, perEmail, windowSeconds } = this.settings.rateLimit;
    await this.deps.counter.enforce(`forgot:ip:${client.clientIp}`, perAddress, windowSeconds);
    await this.deps.counter.enforce(`forgot:email:${tenant._id.toHexString()}:${email}`, perEmail, windowSeconds);
    const work = this.sendResetLink(tenant._id.toHexString(), email, redirectUri, client)
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'password reset email not prepared'))
      .finally(() => this.background.delete(work));
    this.background.add(work);
    return { message: forgotPasswordMessage };
  }

  async reset(slug: string, input: { token: string; newPassword: string }, client: ClientInfo): Promise<{ message: string }> {
    const tenant = await this.deps.tenants.requireActiveBySlug(slug);
    const flow = await this.deps.flows.findLive('password_reset', input.token);
    if (!flow?.user_id || !flow.tenant_id?.equals(tenant._id)) throw new ApiError('invalidLinkToken');
    const user = await this.deps.users.findById(flow.user_id);
    if (!user || user.status === 'disabled' || user.email_normalized !== flow.email_normalized) throw new ApiError('invalidLinkToken');
    // Policy before consuming, so a rejected password does not burn the link.
    checkPassword(input.newPassword, tenant.settings.password_policy, 'new_password', { email: user.email });
    if (!(await this.deps.flows.consume(flow))) throw new ApiError('invalidLinkToken');
    await this.deps.users.setPassword(user._id, input.newPassword);
    // Receiving the link proves control of the mailbox; a pending account becomes verified.
    if (!user.email_verified) await this.deps.users.markEmailVerified(user._id);
    await this.deps.sessions.revokeAllForUser(user._id, 'password reset');
    await this.deps.trustedDevices.revokeAll(user._id);
    await this.deps.throttle.resetAccount(tenant, user.email_normalized);
    await this.deps.audit.record({ type: 'password.reset', outcome: 'success', tenantId: tenant._id, userId: user._id, ...client });
    await this.deps.mailer.send({
      to: user.email,
      template: 'password_changed',
      locale: user.locale,
      data: { name: user.first_name, tenantName: tenant.name, when: this.deps.clock.now().toISOString(), clientIp: client.clientIp },
    });
    return { message: 'Your password has been reset. Please sign in with your new password.' };
  }

  /**
   * An administrator's request (admin API reset-password with send_email, and invitations): the
   * same link and mail as forgot-password, sent before this returns and without its rate limits
   * (the admin API is authenticated and audits every call). Disabled accounts get nothing.
   */
  async sendLinkFor(tenantId: string, email: string, client: ClientInfo): Promise<void> {
    await this.sendResetLink(tenantId, normaliseEmail(email), null, client);
  }

  /** An invitation (admin create without a password): the same single-use link, its own mail, three days. */
  async sendInvitation(tenantId: string, email: string, client: ClientInfo): Promise<void> {
    await this.sendResetLink(tenantId, normaliseEmail(email), null, client, 'invitation');
  }

  /** Waits for background work (tests and graceful shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.background]);
  }

  private async sendResetLink(tenantId: string, email: string, redirectUri: string | null, client: ClientInfo, kind: 'password_reset' | 'invitation' = 'password_reset'): Promise<void> {
    const ttlSeconds = kind === 'invitation' ? invitationTtlSeconds : resetTtlSeconds;
    const tenant = await this.deps.tenants.findActiveById(tenantId);
    if (!tenant) return;
    const user = await this.deps.users.findInTenant(tenant._id, email);
    if (!user || user.status === 'disabled') return;
    const { token } = await this.deps.flows.start('password_reset', ttlSeconds, {
      user_id: user._id,
      tenant_id: tenant._id,
      email_normalized: user.email_normalized,
      channel: 'tenant',
      redirect_uri: redirectUri,
    });
    const base = redirectUri ?? `${this.settings.publicBaseUrl}/t/${tenant.slug}/reset-password`;
    await this.deps.mailer.send({
      to: user.email,
      template: kind,
      locale: user.locale,
      data: { name: user.first_name, link: linkWithToken(base, token), expiresInMinutes: ttlSeconds / 60, tenantName: tenant.name },
    });
    await this.deps.audit.record({ type: kind === 'invitation' ? 'user.invited' : 'password.reset_requested', outcome: 'success', tenantId: tenant._id, userId: user._id, ...client });
  }

}
