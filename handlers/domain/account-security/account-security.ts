import { ObjectId } from 'mongodb';
import type { MfaMethod, TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import type { WebAuthnCredentialDoc } from '../../store/webauthn-credentials.ts';
import type { UserStore } from '../../store/users.ts';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import type { UserPrincipal as Principal } from '../../core/request-context.ts';
import type { SignIn } from '../sign-in/sign-in.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { availableMfaMethods, type Users } from '../users/users.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { securityEvents as noticeEvents } from '../mail/templates.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { Clock } from '../../core/clock.ts';
import type { WebAuthn, WebAuthnChallenge } from '../webauthn/webauthn.ts';
import type { BackupCodes } from '../mfa/backup-codes.ts';
import type { TotpEnrolment } from '../mfa/totp-enrolment.ts';
import type { TrustedDeviceList } from '../mfa/trusted-device-list.ts';
import type { SecurityEvents } from '../mfa/security-events.ts';

interface Deps {
  userStore: UserStore;
  users: Users;
  tenants: Tenants;
  signIn: SignIn;
  totpEnrolment: TotpEnrolment;
  backupCodes: BackupCodes;
  webauthn: WebAuthn;
  trustedDeviceList: TrustedDeviceList;
  securityEvents: SecurityEvents;
  mailer: Mailer;
  audit: AuditLog;
  clock: Clock;
}

type Account = { user: UserDoc; tenant: TenantDoc };
type NoticeEvent = keyof typeof noticeEvents;

/**
 * The signed-in user's second factors. Every change that adds or removes a factor needs the
 * current password (checked with the same brute-force limits as sign-in), is written with one
 * conditional update, recorded in the audit log and announced by email.
 */
export class AccountSecurity {
  constructor(private readonly deps: Deps) {}

  async load(principal: Principal): Promise<Account> {
    const [user, tenant] = await Promise.all([this.deps.users.findById(principal.userId), this.deps.tenants.findActiveById(principal.tenantId)]);
    if (!user || !tenant) throw new ApiError('invalidToken');
    return { user, tenant };
  }

  async status(principal: Principal) {
    return this.statusOf(await this.load(principal));
  }

  // ---- TOTP -------------------------------------------------------------------------------

  async startTotp(principal: Principal, password: string, client: ClientInfo) {
    const account = await this.load(principal);
    this.requireAllowed(account.tenant, 'totp');
    if (account.user.mfa.totp?.confirmed_at) throw new ApiError('mfaAlreadyEnrolled');
    await this.reauthenticate(account, password, client, 'totp.start');
    const started = await this.deps.totpEnrolment.start(account.user, account.tenant);
    return { secret: started.secret, otpauth_uri: started.otpauthUri, qr_code: started.qrCode, expires_in: started.expiresIn };
  }

  async confirmTotp(principal: Principal, code: string, client: ClientInfo) {
    const account = await this.load(principal);
    this.requireAllowed(account.tenant, 'totp');
    try {
      await this.deps.totpEnrolment.confirm(account.user, code);
    } catch (error) {
      await this.deps.audit.record({ type: 'mfa.totp.enabled', outcome: 'failure', tenantId: account.tenant._id, userId: account.user._id, ...client });
      throw error;
    }
    await this.factorChanged(account, 'mfa.totp.enabled', 'totp_added', client);
    return this.statusOf(await this.reload(account));
  }

  async removeTotp(principal: Principal, password: string, client: ClientInfo) {
    const account = await this.load(principal);
    if (!account.user.mfa.totp?.confirmed_at) throw new ApiError('notFound', { internal: 'no totp to remove' });
    await this.reauthenticate(account, password, client, 'totp.remove');
    this.ensureOtherFactor(account, 'totp');
    if (await this.deps.totpEnrolment.remove(account.user)) await this.factorChanged(account, 'mfa.totp.removed', 'totp_removed', client);
    return this.statusOf(await this.reload(account));
  }

  // ---- Email codes ------------------------------------------------------------------------

  async enableEmail(principal: Principal, password: string, client: ClientInfo) {
    const account = await this.load(principal);
    this.requireAllowed(account.tenant, 'email');
    if (!account.user.email_verified) throw new ApiError('emailNotVerified');
    await this.reauthenticate(account, password, client, 'email.enable');
    if (await this.deps.userStore.enableEmailMfa(account.user._id, this.deps.clock.now())) await this.factorChanged(account, 'mfa.email.enabled', 'email_mfa_enabled', client);
    return this.statusOf(await this.reload(account));
  }

  async disableEmail(principal: Principal, password: string, client: ClientInfo) {
    const account = await this.load(principal);
    await this.reauthenticate(account, password, client, 'email.disable');
    if (account.user.mfa.email_enabled) {
      this.ensureOtherFactor(account, 'email');
      if (await this.deps.userStore.disableEmailMfa(account.user._id, this.deps.clock.now())) await this.factorChanged(account, 'mfa.email.disabled', 'email_mfa_disabled', client);
    }
    return this.statusOf(await this.reload(account));
  }

  // ---- Backup codes -----------------------------------------------------------------------

  async backupCodesStatus(principal: Principal) {
    const { user } = await this.load(principal);
    return { remaining: user.mfa.backup_codes.length, created_at: iso(user.mfa.backup_codes_created_at) };
  }

  async generateBackupCodes(principal: Principal, password: string, client: ClientInfo) {
    const account = await this.load(principal);
    this.requireAllowed(account.tenant, 'backup_code');
    await this.reauthenticate(account, password, client, 'backup_codes.generate');
    const { plain, stored } = this.deps.backupCodes.generate(10);
    const now = this.deps.clock.now();
    await this.deps.userStore.replaceBackupCodes(account.user._id, stored, now);
    await this.factorChanged(account, 'mfa.backup_codes.generated', 'backup_codes_generated', client);
    return { codes: plain, remaining: plain.length, created_at: now.toISOString() };
  }

  // ---- WebAuthn ---------------------------------------------------------------------------

  async beginWebauthnRegistration(principal: Principal, password: string, client: ClientInfo): Promise<WebAuthnChallenge<Record<string, unknown>>> {
    const account = await this.load(principal);
    this.requireAllowed(account.tenant, 'webauthn');
    await this.reauthenticate(account, password, client, 'webauthn.register');
    const challenge = await this.deps.webauthn.beginRegistration(account.user, account.tenant, new ObjectId(principal.sessionId));
    return { challenge_id: challenge.challenge_id, options: challenge.options as unknown as Record<string, unknown> };
  }

  async completeWebauthnRegistration(principal: Principal, input: { challengeId: string; credential: unknown; name: string | null | undefined }, client: ClientInfo) {
    const account = await this.load(principal);
    this.requireAllowed(account.tenant, 'webauthn');
    const name = typeof input.name === 'string' ? trimName(input.name) : null;
    if (input.name != null && (!name || /[\u0000-\u001f\u007f]/.test(name))) throw new InvalidInput({ field: 'name', reason: 'must be a non-blank name without control characters' });
    let credential: WebAuthnCredentialDoc;
    try {
      credential = await this.deps.webauthn.completeRegistration(account.user, account.tenant, new ObjectId(principal.sessionId), { ...input, name });
    } catch (error) {
      await this.deps.audit.record({ type: 'mfa.webauthn.added', outcome: 'failure', tenantId: account.tenant._id, userId: account.user._id, ...client });
      throw error;
    }
    await this.factorChanged(account, 'mfa.webauthn.added', 'webauthn_added', client, { credential: credential._id.toHexString(), name: credential.name });
    return credentialView(credential);
  }

  async listWebauthnCredentials(principal: Principal) {
    const { user, tenant } = await this.load(principal);
    return { credentials: (await this.deps.webauthn.credentials.listForUser(user._id, tenant._id)).map(credentialView) };
  }

  async renameWebauthnCredential(principal: Principal, id: string, name: string, client: ClientInfo) {
    const { user, tenant } = await this.load(principal);
    const trimmed = trimName(name);
    if (!trimmed || /[\u0000-\u001f\u007f]/.test(trimmed)) throw new InvalidInput({ field: 'name', reason: 'must be a non-blank name without control characters' });
    const found = await this.deps.webauthn.credentials.findForUser(user._id, tenant._id, { id });
    const renamed = found ? await this.deps.webauthn.credentials.rename(found, trimmed) : null;
    if (!renamed) throw new ApiError('notFound');
    await this.deps.audit.record({ type: 'mfa.webauthn.renamed', outcome: 'success', tenantId: tenant._id, userId: user._id, ...client, details: { credential: id } });
    return credentialView(renamed);
  }

  async removeWebauthnCredential(principal: Principal, id: string, password: string, client: ClientInfo) {
    const account = await this.load(principal);
    const found = await this.deps.webauthn.credentials.findForUser(account.user._id, account.tenant._id, { id });
    if (!found) throw new ApiError('notFound');
    await this.reauthenticate(account, password, client, 'webauthn.remove');
    if ((account.user.mfa.webauthn_count ?? 0) <= 1) this.ensureOtherFactor(account, 'webauthn');
    if (await this.deps.webauthn.credentials.remove(found)) {
      await this.factorChanged(account, 'mfa.webauthn.removed', 'webauthn_removed', client, { credential: id, name: found.name });
    }
    return this.statusOf(await this.reload(account));
  }

  // ---- Trusted devices and events -----------------------------------------------------------

  async listTrustedDevices(principal: Principal) {
    const { user } = await this.load(principal);
    return { devices: await this.deps.trustedDeviceList.list(user) };
  }

  async revokeTrustedDevice(principal: Principal, deviceId: string, client: ClientInfo) {
    const { user, tenant } = await this.load(principal);
    if (!(await this.deps.trustedDeviceList.revoke(user, deviceId))) throw new ApiError('notFound');
    await this.deps.audit.record({ type: 'trusted_device.revoked', outcome: 'success', tenantId: tenant._id, userId: user._id, ...client, details: { device: deviceId } });
    return { message: 'Trusted device revoked.' };
  }

  async revokeAllTrustedDevices(principal: Principal, client: ClientInfo) {
    const { user, tenant } = await this.load(principal);
    const revoked = await this.deps.trustedDeviceList.revokeAll(user);
    await this.deps.audit.record({ type: 'trusted_devices.revoked', outcome: 'success', tenantId: tenant._id, userId: user._id, ...client, details: { revoked } });
    return { message: 'Trusted devices revoked.', revoked };
  }

  async securityEvents(principal: Principal, input: { limit: number; before: string | null | undefined }) {
    const { user } = await this.load(principal);
    return this.deps.securityEvents.page(user, input);
  }

  // ---- Steps ------------------------------------------------------------------------------

  /** The current password again, limited like sign-in (same counters, so guesses here count there). */
  private reauthenticate({ user, tenant }: Account, password: string, client: ClientInfo, purpose: string): Promise<void> {
    return this.deps.signIn.confirmPassword(user, tenant, password, client, { type: 'password.reauthenticate', details: { purpose } });
  }


  private requireAllowed(tenant: TenantDoc, method: MfaMethod): void {
    if (!tenant.settings.mfa_methods.includes(method)) throw new ApiError('mfaMethodUnavailable', { internal: `tenant does not allow ${method}` });
  }

  /** Where the tenant requires MFA, the last factor that signs in cannot be removed. */
  private ensureOtherFactor({ user, tenant }: Account, removing: string): void {
    if (!tenant.settings.mfa_required) return;
    const others = availableMfaMethods(user, tenant).filter((m) => m !== 'backup_code' && m !== removing);
    if (others.length === 0) throw new ApiError('mfaFactorRequired');
  }

  private async factorChanged({ user, tenant }: Account, type: string, notice: NoticeEvent, client: ClientInfo, details: Record<string, unknown> = {}): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.audit.record({ type, outcome: 'success', tenantId: tenant._id, userId: user._id, ...client, details });
    await this.deps.mailer.send({
      to: user.email,
      template: 'security_notice',
      locale: user.locale,
      data: { name: user.first_name, tenantName: tenant.name, event: notice, when: now.toISOString(), clientIp: client.clientIp },
    });
  }

  private async reload({ user, tenant }: Account): Promise<Account> {
    const fresh = await this.deps.users.findById(user._id);
    if (!fresh) throw new ApiError('invalidToken');
    return { user: fresh, tenant };
  }

  private async statusOf({ user, tenant }: Account) {
    const methods = availableMfaMethods(user, tenant);
    return {
      mfa_enabled: methods.length > 0,
      mfa_required: tenant.settings.mfa_required,
      methods,
      allowed_methods: [...tenant.settings.mfa_methods],
      totp_enabled: Boolean(user.mfa.totp?.confirmed_at),
      totp_confirmed_at: iso(user.mfa.totp?.confirmed_at ?? null),
      email_enabled: user.mfa.email_enabled,
      webauthn_credentials: user.mfa.webauthn_count ?? 0,
      backup_codes_remaining: user.mfa.backup_codes.length,
      backup_codes_created_at: iso(user.mfa.backup_codes_created_at),
      trusted_devices: await this.deps.trustedDeviceList.count(user),
    };
  }
}

/** Names lose surrounding spaces only (the spec's pattern decides what counts as blank). */
function trimName(name: string): string {
  return name.replace(/^ +| +$/g, '');
}

function iso(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}

function credentialView(c: WebAuthnCredentialDoc) {
  return {
    id: c._id.toHexString(),
    name: c.name,
    credential_id: c.credential_id,
    device_type: c.device_type,
    backed_up: c.backed_up,
    transports: c.transports,
    created_at: c.created_at.toISOString(),
    last_used_at: iso(c.last_used_at),
  };
}
