import { ObjectId } from 'mongodb';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import { ApiError } from '../../core/errors.ts';
import type { ClientInfo, UserPrincipal as Principal } from '../../core/request-context.ts';
import type { AccessTokens } from '../tokens/access-tokens.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { LoginThrottle } from '../rate-limit/login-throttle.ts';
import { isPlatformTenant, type Tenants } from '../tenants/tenants.ts';
import { normaliseEmail, portalUser, type Users } from '../users/users.ts';
import type { SignIn } from '../sign-in/sign-in.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Flows } from '../flows/flows.ts';
import type { SecurityMetrics } from '../../core/metrics.ts';
import { adminClaims } from '../admin/admin-roles.ts';
import { internalHex, tenantPublicId, userPublicId } from '../../core/public-ids.ts';


export interface PortalAuthSettings {
  flowTtlSeconds: number;
  /** Identifies per client address per IP_RATE_WINDOW (IDENTIFY_RATE_LIMIT). */
  identifyLimit: number;
}

export type PortalUser = ReturnType<typeof portalUser>;

export interface IssuedTokens {
  access_token: string;
  refresh_token: string;
  user: PortalUser;
}

export type AuthenticateOutcome =
  | ({ status: 'SUCCESS' } & IssuedTokens)
  | { status: 'MFA_REQUIRED'; mfa_token: string; user_id: string; available_methods: string[] };

interface Deps {
  signIn: SignIn;
  users: Users;
  tenants: Tenants;
  throttle: LoginThrottle;
  flows: Flows;
  sessions: Sessions;
  accessTokens: AccessTokens;
  audit: AuditLog;
  metrics: SecurityMetrics;
}

/**
 * The portal's entry to the sign-in pipeline: identify → authenticate (→ MFA), one-step login,
 * refresh and logout. The account is looked up across the address's tenants.
 */
export class PortalAuth {
  constructor(
    private readonly deps: Deps,
    private readonly settings: PortalAuthSettings,
  ) {}

  async identify(email: string, client: ClientInfo): Promise<{ flow_token: string; tenants: Array<{ id: string; slug: string; name: string }>; requires_tenant_selection: boolean }> {
    // Every identify stores a flow: bound how fast one address can create them (and probe emails).
    await this.deps.throttle.limitAddressTo('identify', client.clientIp, this.settings.identifyLimit);
    const normalised = normaliseEmail(email);
    // Live accounts only (see PasswordStep.findAccounts), in their stable order.
    const accounts = await this.deps.users.findLiveByEmail(normalised);
    const active = await this.deps.tenants.findActiveByIds(accounts.map((a) => a.tenant_id));
    // The platform tenant (administrators' home) is never offered: admins sign in at /admin/auth.
    const tenants = accounts.flatMap((a) => active.filter((t) => t._id.equals(a.tenant_id) && !isPlatformTenant(t)));
    const { token } = await this.deps.flows.startIdentify(this.settings.flowTtlSeconds, normalised);
    return {
      flow_token: token,
      tenants: tenants.map((t) => ({ id: tenantPublicId(t._id), slug: t.slug, name: t.name })),
      requires_tenant_selection: tenants.length > 1,
    };
  }

  async authenticate(input: { flowToken: string; tenantId: string | null | undefined; password: string }, client: ClientInfo): Promise<AuthenticateOutcome> {
    const flow = await this.deps.flows.findLive('identify', input.flowToken);
    if (!flow?.email_normalized) throw new ApiError('flowExpired');
    const outcome = await this.password(flow.email_normalized, input.tenantId, input.password, client, () => this.deps.flows.recordFailure(flow));
    if (!(await this.deps.flows.consume(flow))) throw new ApiError('flowExpired', { internal: 'flow consumed concurrently' });
    return this.finish(outcome.user, outcome.tenant, client);
  }

  async login(input: { email: string; password: string; tenantId: string | null | undefined }, client: ClientInfo): Promise<AuthenticateOutcome> {
    const outcome = await this.password(normaliseEmail(input.email), input.tenantId, input.password, client);
    return this.finish(outcome.user, outcome.tenant, client);
  }

  async verifyMfa(input: { mfaToken: string; userId: string; method: string; code: string | null | undefined }, client: ClientInfo): Promise<IssuedTokens> {
    const flow = await this.deps.flows.findLive('mfa', input.mfaToken);
    // Bound to its channel: a hosted page's MFA flow never completes here (the same answer as an
    // unknown token). The admin sign-in's flows (channel 'admin') complete here too: the answer is
    // the same kind of code, and the tokens issued carry the admin claims.
    if (!flow?.user_id || !flow.tenant_id || (flow.channel !== 'portal' && flow.channel !== 'admin') || flow.user_id.toHexString() !== internalHex('user', input.userId)) {
      throw new ApiError('invalidCode', { internal: 'unknown, expired, mismatched or other-channel mfa token' });
    }
    const [user, tenant] = await Promise.all([this.deps.users.findById(flow.user_id), this.deps.tenants.findActiveById(flow.tenant_id)]);
    if (!user || !tenant || user.status !== 'active') throw new ApiError('invalidCode', { internal: 'user or tenant gone' });
    // An admin flow whose role was taken away meanwhile ends like an unknown token.
    if (flow.channel === 'admin' && !user.admin) throw new ApiError('invalidCode', { internal: 'admin role removed during sign-in' });
    const amr = await this.deps.signIn.answerSecondFactor(flow, user, tenant, { method: input.method, code: input.code }, client);
    return this.issue(user, tenant, ['pwd', amr], flow.remember_me, client, flow.channel === 'admin' ? 'admin' : 'portal');
  }

  /**
   * Rotates a refresh token (the portal's and the admin API's refresh). `admin`: the session's
   * user must hold an admin role now, and the new access token carries the admin claims; a
   * non-admin's session presented there is ended (its token was rotated, and admin refresh is
   * never a way to keep a session alive).
   */
  async refresh(refreshToken: string, options: { admin?: boolean } = {}): Promise<{ access_token: string; refresh_token: string; expires_at: number; user: UserDoc; tenant: TenantDoc }> {
    const outcome = await this.deps.sessions.refresh(refreshToken).catch((error: unknown) => {
      this.deps.metrics.refresh('invalid');
      throw error;
    });
    this.deps.metrics.refresh(outcome.kind === 'reuse-detected' ? 'reuse_detected' : 'rotated');
    if (outcome.kind === 'reuse-detected') {
      await this.deps.audit.record({ type: 'token.reuse_detected', outcome: 'failure', details: { session_id: outcome.sessionId.toHexString() } });
      throw new ApiError('invalidRefreshToken', { internal: 'refresh token reuse: family revoked' });
    }
    const { session } = outcome;
    const user = await this.deps.users.findRecentById(session.user_id);
    if (!user || user.status !== 'active') {
      await this.deps.sessions.revoke(session._id, 'user not active');
      throw new ApiError('invalidRefreshToken', { internal: 'user not active' });
    }
    const tenant = await this.deps.tenants.findActiveById(session.tenant_id);
    if (!tenant) throw new ApiError('invalidRefreshToken', { internal: 'tenant not active' });
    if (options.admin && !user.admin) {
      await this.deps.sessions.revoke(session._id, 'admin refresh without an admin role');
      throw new ApiError('invalidRefreshToken', { internal: 'not an admin' });
    }
    const access = await this.deps.accessTokens.issue(
      { userId: user._id.toHexString(), tenantId: tenant._id.toHexString(), sessionId: session._id.toHexString() },
      tenant.settings.access_token_ttl ?? undefined,
      options.admin ? adminClaims(user) : undefined,
    );
    return { access_token: access.token, refresh_token: outcome.refreshToken, expires_at: access.expiresAt, user, tenant };
  }

  async logout(principal: Principal, client: ClientInfo): Promise<void> {
    await this.deps.sessions.revoke(new ObjectId(principal.sessionId), 'logout');
    await this.deps.audit.record({ type: 'logout', outcome: 'success', tenantId: new ObjectId(principal.tenantId), userId: new ObjectId(principal.userId), ...client });
  }

  private password(email: string, tenantId: string | null | undefined, password: string, client: ClientInfo, onFailure?: () => Promise<void>) {
    return this.deps.signIn.password({ emailNormalized: email, password, scope: { tenantId }, channel: 'portal' }, client, onFailure);
  }

  private async finish(user: UserDoc, tenant: TenantDoc, client: ClientInfo, rememberMe = false): Promise<AuthenticateOutcome> {
    // The portal's verify request carries a code, not a WebAuthn assertion: a WebAuthn-only user
    // must sign in through the hosted page, never skip the second factor here.
    const second = await this.deps.signIn.secondFactor(user, tenant, { channel: 'portal', rememberMe, redirectUri: null, usable: (m) => m !== 'webauthn' });
    if (second.required) return { status: 'MFA_REQUIRED', mfa_token: second.mfaToken, user_id: userPublicId(user._id), available_methods: second.methods };
    return { status: 'SUCCESS', ...(await this.issue(user, tenant, second.amr, rememberMe, client)) };
  }

  private async issue(user: UserDoc, tenant: TenantDoc, amr: string[], rememberMe: boolean, client: ClientInfo, channel: 'portal' | 'admin' = 'portal'): Promise<IssuedTokens> {
    const { session, refreshToken } = await this.deps.signIn.startSession(user, tenant, { rememberMe, amr, channel }, client);
    const access = await this.deps.accessTokens.issue(
      { userId: user._id.toHexString(), tenantId: tenant._id.toHexString(), sessionId: session._id.toHexString() },
      tenant.settings.access_token_ttl ?? undefined,
      channel === 'admin' ? adminClaims(user) : undefined,
    );
    return { access_token: access.token, refresh_token: refreshToken, user: portalUser(user, tenant) };
  }
}
