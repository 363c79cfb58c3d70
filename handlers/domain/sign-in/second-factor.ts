import { ApiError } from '../../core/errors.ts';
import type { ClientInfo } from '../../core/request-context.ts';
import type { FlowDoc } from '../../store/flows.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Flows } from '../flows/flows.ts';
import type { MfaAnswer, MfaVerifier } from '../mfa/mfa-verifier.ts';
import type { TrustedDevices } from '../mfa/trusted-devices.ts';
import { tenantLockout, type LoginThrottle } from '../rate-limit/login-throttle.ts';
import { availableMfaMethods } from '../users/users.ts';
import type { SignInChannel } from './password-step.ts';

export type SecondFactorDecision =
  | { required: false; amr: string[] }
  | { required: true; mfaToken: string; methods: string[]; flow: FlowDoc };

interface Deps {
  throttle: LoginThrottle;
  mfa: MfaVerifier;
  flows: Flows;
  trustedDevices: TrustedDevices;
  audit: AuditLog;
}

/**
 * The second step of every sign-in: whether one is needed (the user's factors, the tenant's
 * policy, a trusted device), the MFA flow that carries it, and checking the answer.
 */
export class SecondFactor {
  constructor(
    private readonly deps: Deps,
    private readonly settings: { mfaTtlSeconds: number },
  ) {}

  async begin(
    user: UserDoc,
    tenant: TenantDoc,
    options: {
      channel: SignInChannel;
      rememberMe: boolean;
      redirectUri: string | null;
      /** Methods this entry point can take an answer for (the portal cannot take a WebAuthn assertion). */
      usable?: (method: string) => boolean;
      /** The hosted page's "trust this device" token; the portal has none. */
      trustedDeviceToken?: string | null;
    },
  ): Promise<SecondFactorDecision> {
    const enrolled = availableMfaMethods(user, tenant);
    if (enrolled.length === 0 && !tenant.settings.mfa_required) return { required: false, amr: ['pwd'] };
    if (options.trustedDeviceToken && (await this.deps.trustedDevices.isTrusted(user, options.trustedDeviceToken))) return { required: false, amr: ['pwd', 'device'] };
    const methods = options.usable ? enrolled.filter(options.usable) : enrolled;
    // Never skip a required second factor because none can be answered here.
    if (methods.length === 0) throw new ApiError('mfaMethodUnavailable', { internal: `no second factor usable on the ${options.channel} sign-in` });
    const { token, flow } = await this.deps.flows.start('mfa', this.settings.mfaTtlSeconds, {
      user_id: user._id,
      tenant_id: tenant._id,
      channel: options.channel,
      remember_me: options.rememberMe,
      redirect_uri: options.redirectUri,
    });
    return { required: true, mfaToken: token, methods, flow };
  }

  /**
   * Throttles, claims the flow, checks the answer; a wrong answer reopens the flow with one more
   * failure and counts on the account. Claiming first means that of parallel answers on one flow
   * only one is checked, so the losers use up nothing (a backup code, a TOTP step, a WebAuthn
   * challenge) and are refused like an unknown token. Returns the `amr` value.
   */
  async complete(flow: FlowDoc, user: UserDoc, tenant: TenantDoc, answer: MfaAnswer, client: ClientInfo): Promise<string> {
    const ticket = await this.deps.throttle.beginAttempt('mfa', user._id.toHexString(), client.clientIp, tenantLockout(tenant));
    try {
      const claimedAt = await this.deps.flows.claim(flow);
      if (!claimedAt) throw new ApiError('invalidCode', { internal: 'mfa flow consumed or being answered concurrently' });
      const event = { type: 'mfa.verify', tenantId: tenant._id, userId: user._id, ...client, details: { method: answer.method, channel: flow.channel } };
      let amr: string;
      try {
        amr = await this.deps.mfa.verify(user, tenant, flow, answer);
      } catch (error) {
        await Promise.all([ticket.failed(), this.deps.flows.reopenAfterFailure(flow, claimedAt)]);
        await this.deps.audit.record({ ...event, outcome: 'failure' });
        throw error;
      }
      await ticket.succeeded();
      await this.deps.audit.record({ ...event, outcome: 'success' });
      return amr;
    } finally {
      // An answer that was never checked (the flow was taken) decides nothing: its slot is given back.
      await ticket.released();
    }
  }
}
