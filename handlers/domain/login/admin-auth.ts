import { ObjectId } from 'mongodb';
import type { ClientInfo, Principal } from '../../core/request-context.ts';
import type { Clock } from '../../core/clock.ts';
import { ApiError } from '../../core/errors.ts';
import type { AccessTokens } from '../tokens/access-tokens.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { SignIn } from '../sign-in/sign-in.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { normaliseEmail } from '../users/users.ts';
import { adminClaims, adminUserView, type AdminUserView } from '../admin/admin-roles.ts';
import type { AdminAccess } from '../admin/admin-access.ts';
import type { PortalAuth } from './portal-auth.ts';
import { userPublicId } from '../../core/public-ids.ts';

export type AdminLoginOutcome =
  | { status: 'SUCCESS'; access_token: string; refresh_token: string; expires_in: number; user: AdminUserView }
  | { status: 'MFA_REQUIRED'; mfa_token: string; user_id: string; available_methods: string[] };

interface Deps {
  signIn: SignIn;
  sessions: Sessions;
  accessTokens: AccessTokens;
  portalAuth: PortalAuth;
  adminAccess: AdminAccess;
  audit: AuditLog;
  clock: Clock;
}

/**
 * The admin console's entry to the one sign-in pipeline. Only accounts holding an admin role are
 * looked up, so for anybody else the password step runs its unknown-account path: the same dummy
 * hash, counter and 401 as a wrong password. A second factor is asked for exactly as in the
 * portal (an MFA flow of channel `admin`, answered at POST /api/v1/auth/mfa/verify); sessions,
 * refresh rotation and logout are the portal's, with the admin claims in every access token.
 */
export class AdminAuth {
  constructor(private readonly deps: Deps) {}

  async login(input: { email: string; password: string; tenantId: string | null | undefined }, client: ClientInfo): Promise<AdminLoginOutcome> {
    const { user, tenant } = await this.deps.signIn.password(
      { emailNormalized: normaliseEmail(input.email), password: input.password, scope: { tenantId: input.tenantId, adminsOnly: true }, channel: 'admin' },
      client,
    );
    // Codes only (the verify request carries a code, not a WebAuthn assertion), as in the portal.
    const second = await this.deps.signIn.secondFactor(user, tenant, { channel: 'admin', rememberMe: false, redirectUri: null, usable: (m) => m !== 'webauthn' });
    if (second.required) return { status: 'MFA_REQUIRED', mfa_token: second.mfaToken, user_id: userPublicId(user._id), available_methods: second.methods };
    const { session, refreshToken } = await this.deps.signIn.startSession(user, tenant, { rememberMe: false, amr: second.amr, channel: 'admin' }, client);
    const access = await this.deps.accessTokens.issue(
      { userId: user._id.toHexString(), tenantId: tenant._id.toHexString(), sessionId: session._id.toHexString() },
      tenant.settings.access_token_ttl ?? undefined,
      adminClaims(user),
    );
    return { status: 'SUCCESS', access_token: access.token, refresh_token: refreshToken, expires_in: this.expiresIn(access.expiresAt), user: adminUserView(user, tenant) };
  }

  async refresh(refreshToken: string): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
    const refreshed = await this.deps.portalAuth.refresh(refreshToken, { admin: true });
    return { access_token: refreshed.access_token, refresh_token: refreshed.refresh_token, expires_in: this.expiresIn(refreshed.expires_at) };
  }

  /** The current administrator, from the token's user (whose role is read from the database). */
  async me(principal: Principal | undefined): Promise<AdminUserView> {
    const actor = await this.deps.adminAccess.require(principal, 'read');
    if (actor.kind !== 'user') throw new ApiError('adminRequired', { internal: 'a client token has no admin user' });
    return adminUserView(actor.user, actor.tenant);
  }

  /** Ends the session the token belongs to (any signed-in user may end their own session). */
  async logout(principal: Principal | undefined, client: ClientInfo): Promise<void> {
    if (principal?.kind !== 'user') throw new ApiError(principal ? 'adminRequired' : 'notAuthenticated');
    await this.deps.sessions.revoke(new ObjectId(principal.sessionId), 'admin logout');
    await this.deps.audit.record({ type: 'logout', outcome: 'success', tenantId: new ObjectId(principal.tenantId), userId: new ObjectId(principal.userId), ...client, details: { channel: 'admin' } });
  }

  private expiresIn(expiresAt: number): number {
    return Math.max(0, expiresAt - Math.floor(this.deps.clock.now().getTime() / 1000));
  }
}
