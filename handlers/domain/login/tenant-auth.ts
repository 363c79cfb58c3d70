import type { ObjectId } from 'mongodb';
import type { FlowDoc } from '../../store/flows.ts';
import type { SessionDoc } from '../../store/sessions.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import { ApiError } from '../../core/errors.ts';
import type { Tenants } from '../tenants/tenants.ts';
import { availableMfaMethods, normaliseEmail, type Users } from '../users/users.ts';
import type { SignIn } from '../sign-in/sign-in.ts';
import type { EmailCodes } from '../mfa/email-code.ts';
import type { TrustedDevices } from '../mfa/trusted-devices.ts';
import type { WebAuthn, WebAuthnChallenge } from '../webauthn/webauthn.ts';
import type { Flows } from '../flows/flows.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import { internalHex, userPublicId } from '../../core/public-ids.ts';

export interface SessionOutcome {
  status: 'success';
  /** The session just started (the OpenID provider continues the authorization with it). */
  session: SessionDoc;
  userId: string;
  sessionId: string;
  /** The session's own secret (not a refresh token), only ever sent as the hosted pages' HttpOnly cookie. */
  sessionSecret: string;
  maxAgeSeconds: number;
  redirectUri: string | null;
  trustedDeviceToken: string | null;
}

export interface MfaOutcome {
  status: 'mfa_required';
  userId: string;
  mfaToken: string;
  availableMethods: string[];
  defaultMethod: string;
}

interface Deps {
  signIn: SignIn;
  users: Users;
  tenants: Tenants;
  flows: Flows;
  emailCodes: EmailCodes;
  trustedDevices: TrustedDevices;
  webauthn: WebAuthn;
}

/** The hosted login page's entry to the sign-in pipeline: one tenant, MFA unless a trusted device skips it. */
export class TenantAuth {
  constructor(private readonly deps: Deps) {}

  async login(slug: string, input: { email: string; password: string; rememberMe: boolean; trustedDeviceToken: string | null | undefined }, client: ClientInfo): Promise<SessionOutcome | MfaOutcome> {
    const tenant = await this.deps.tenants.requireActiveBySlug(slug);
    const { user } = await this.deps.signIn.password({ emailNormalized: normaliseEmail(input.email), password: input.password, scope: { tenant }, channel: 'tenant' }, client);
    const second = await this.deps.signIn.secondFactor(user, tenant, {
      channel: 'tenant',
      rememberMe: input.rememberMe,
      redirectUri: defaultRedirect(tenant),
      trustedDeviceToken: input.trustedDeviceToken ?? null,
    });
    if (second.required) return { status: 'mfa_required', userId: userPublicId(user._id), mfaToken: second.mfaToken, availableMethods: second.methods, defaultMethod: second.methods[0]! };
    return this.startSession(user, tenant, input.rememberMe, second.amr, client, null);
  }

  async verifyMfa(
    slug: string,
    input: {
      mfaToken: string;
      userId: string | null | undefined;
      method: string;
      code: string | null | undefined;
      challengeId?: string | null | undefined;
      credential?: unknown;
      trustDevice: boolean;
      deviceFingerprint: string | null | undefined;
    },
    client: ClientInfo,
  ): Promise<SessionOutcome> {
    const tenant = await this.deps.tenants.requireActiveBySlug(slug);
    const { flow, user } = await this.liveMfaFlow(tenant, input.mfaToken, input.userId);
    const amr = await this.deps.signIn.answerSecondFactor(flow, user, tenant, { method: input.method, code: input.code, challengeId: input.challengeId, credential: input.credential }, client);
    const deviceToken = input.trustDevice ? await this.deps.trustedDevices.issue(user, input.deviceFingerprint, client.userAgent) : null;
    return this.startSession(user, tenant, flow.remember_me, ['pwd', amr], client, deviceToken, flow.redirect_uri);
  }

  async sendEmailCode(slug: string, mfaToken: string, userId: string): Promise<number> {
    const tenant = await this.deps.tenants.requireActiveBySlug(slug);
    // The portal has no send endpoint of its own: its MFA flows may ask for a code here too.
    const { flow, user } = await this.liveMfaFlow(tenant, mfaToken, userId, ['tenant', 'portal']);
    if (!availableMfaMethods(user, tenant).includes('email')) throw new ApiError('mfaMethodUnavailable');
    return this.deps.emailCodes.send(flow, user, tenant);
  }

  /** Assertion options with a challenge bound to this MFA flow, usable once. */
  async beginWebauthn(slug: string, mfaToken: string, userId: string): Promise<WebAuthnChallenge<Record<string, unknown>>> {
    const tenant = await this.deps.tenants.requireActiveBySlug(slug);
    const { flow, user } = await this.liveMfaFlow(tenant, mfaToken, userId);
    if (!availableMfaMethods(user, tenant).includes('webauthn')) throw new ApiError('mfaMethodUnavailable', { internal: 'webauthn not enrolled' });
    const { challenge_id, options } = await this.deps.webauthn.beginAuthentication(user, tenant, flow);
    return { challenge_id, options: options as unknown as Record<string, unknown> };
  }

  private async liveMfaFlow(
    tenant: TenantDoc,
    mfaToken: string,
    userId: string | null | undefined,
    channels: ReadonlyArray<FlowDoc['channel']> = ['tenant'],
  ): Promise<{ flow: FlowDoc; user: UserDoc }> {
    const flow = await this.deps.flows.findLive('mfa', mfaToken);
    const matches = flow?.user_id && flow.tenant_id?.equals(tenant._id) && channels.includes(flow.channel) && (!userId || flow.user_id.toHexString() === internalHex('user', userId));
    if (!flow || !matches) throw new ApiError('invalidCode', { internal: 'unknown, expired or mismatched mfa token' });
    const user = await this.deps.users.findById(flow.user_id as ObjectId);
    if (!user || user.status !== 'active') throw new ApiError('invalidCode', { internal: 'user not active' });
    return { flow, user };
  }

  private async startSession(user: UserDoc, tenant: TenantDoc, rememberMe: boolean, amr: string[], client: ClientInfo, trustedDeviceToken: string | null, redirectUri = defaultRedirect(tenant)): Promise<SessionOutcome> {
    const { session, browserSecret } = await this.deps.signIn.startBrowserSession(user, tenant, { rememberMe, amr }, client);
    return {
      status: 'success',
      session,
      userId: userPublicId(user._id),
      sessionId: session._id.toHexString(),
      sessionSecret: browserSecret,
      maxAgeSeconds: Math.floor((session.absolute_expires_at.getTime() - session.created_at.getTime()) / 1000),
      redirectUri,
      trustedDeviceToken,
    };
  }
}

/** The hosted page continues to the tenant's first registered redirect URI. */
function defaultRedirect(tenant: TenantDoc): string | null {
  return tenant.settings.allowed_redirect_uris[0] ?? null;
}
