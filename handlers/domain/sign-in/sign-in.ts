import type { ClientInfo } from '../../core/request-context.ts';
import type { FlowDoc } from '../../store/flows.ts';
import type { SessionDoc } from '../../store/sessions.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { MfaAnswer } from '../mfa/mfa-verifier.ts';
import type { Sessions } from '../sessions/sessions.ts';
import type { AccountScope, PasswordStep, SignInChannel } from './password-step.ts';
import type { SecondFactor, SecondFactorDecision } from './second-factor.ts';

/**
 * The one sign-in pipeline: password step → second factor (unless not needed) → session. The
 * portal, the hosted login page, the OpenID provider's sign-in pages and the admin sign-in are its entry points;
 * they differ only in how they find the account, carry the flow and answer the client.
 */
export class SignIn {
  constructor(private readonly deps: { passwordStep: PasswordStep; secondFactor: SecondFactor; sessions: Sessions; audit: AuditLog }) {}

  /** Step 1: the account and its tenant, once the password is right and nothing blocks the account. */
  password(
    input: { emailNormalized: string; password: string; scope: AccountScope; channel: SignInChannel },
    client: ClientInfo,
    onFailure?: () => Promise<void>,
  ): Promise<{ user: UserDoc; tenant: TenantDoc }> {
    return this.deps.passwordStep.check(input, client, onFailure);
  }

  /** Step 2: no second factor needed (with the `amr` so far), or the MFA flow that asks for one. */
  secondFactor(user: UserDoc, tenant: TenantDoc, options: Parameters<SecondFactor['begin']>[2]): Promise<SecondFactorDecision> {
    return this.deps.secondFactor.begin(user, tenant, options);
  }

  /** Step 2, answered: the `amr` of the factor used; the flow is consumed exactly once. */
  answerSecondFactor(flow: FlowDoc, user: UserDoc, tenant: TenantDoc, answer: MfaAnswer, client: ClientInfo): Promise<string> {
    return this.deps.secondFactor.complete(flow, user, tenant, answer, client);
  }

  /** Step 3: the session (and its first refresh token), audited as a successful sign-in. */
  async startSession(user: UserDoc, tenant: TenantDoc, options: { rememberMe: boolean; amr: string[]; channel: SignInChannel }, client: ClientInfo): Promise<{ session: SessionDoc; refreshToken: string }> {
    const created = await this.deps.sessions.create({ tenantId: tenant._id, userId: user._id, rememberMe: options.rememberMe, amr: options.amr, ...client });
    await this.signedIn(user, tenant, options, client);
    return created;
  }

  /** Step 3 on a hosted page: a browser session, whose secret goes only into its HttpOnly cookie. */
  async startBrowserSession(user: UserDoc, tenant: TenantDoc, options: { rememberMe: boolean; amr: string[] }, client: ClientInfo): Promise<{ session: SessionDoc; browserSecret: string }> {
    const created = await this.deps.sessions.createBrowserSession({ tenantId: tenant._id, userId: user._id, rememberMe: options.rememberMe, amr: options.amr, ...client });
    await this.signedIn(user, tenant, { ...options, channel: 'tenant' }, client);
    return created;
  }

  private signedIn(user: UserDoc, tenant: TenantDoc, options: { amr: string[]; channel: SignInChannel }, client: ClientInfo): Promise<void> {
    return this.deps.audit.record({ type: 'login', outcome: 'success', tenantId: tenant._id, userId: user._id, ...client, details: { amr: options.amr, channel: options.channel } });
  }

  /** The signed-in user's password again, limited and audited like sign-in. */
  confirmPassword(user: UserDoc, tenant: TenantDoc, password: string, client: ClientInfo, event: { type: string; details?: Record<string, unknown> }): Promise<void> {
    return this.deps.passwordStep.confirm(user, tenant, password, client, event);
  }
}
