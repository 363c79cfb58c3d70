import type { FlowDoc } from '../../store/flows.ts';
import type { TenantDoc } from '../../store/tenants.ts';
import type { UserDoc } from '../../store/users.ts';
import { ApiError } from '../../core/errors.ts';
import { tenantLockout, type LoginThrottle } from '../rate-limit/login-throttle.ts';
import type { Flows } from '../login/flows.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { MfaAnswer, MfaVerifier } from './mfa-verifier.ts';

/**
 * The second step of any sign-in (portal or hosted page): throttle, check the answer, count a
 * failure on the flow and the account, or consume the flow exactly once. Returns the `amr` value.
 */
export class MfaStep {
  constructor(
    private readonly deps: { throttle: LoginThrottle; mfa: MfaVerifier; flows: Flows; audit: AuditLog },
  ) {}

  async complete(flow: FlowDoc, user: UserDoc, tenant: TenantDoc, answer: MfaAnswer, client: { clientIp: string; userAgent: string }): Promise<string> {
    const ticket = await this.deps.throttle.beginAttempt('mfa', user._id.toHexString(), client.clientIp, tenantLockout(tenant));
    const event = { type: 'mfa.verify', tenantId: tenant._id, userId: user._id, ...client, details: { method: answer.method, channel: flow.channel } };
    let amr: string;
    try {
      amr = await this.deps.mfa.verify(user, tenant, flow, answer);
    } catch (error) {
      await Promise.all([ticket.failed(), this.deps.flows.recordFailure(flow)]);
      await this.deps.audit.record({ ...event, outcome: 'failure' });
      throw error;
    }
    if (!(await this.deps.flows.consume(flow))) throw new ApiError('invalidCode', { internal: 'mfa flow consumed concurrently' });
    await ticket.succeeded();
    await this.deps.audit.record({ ...event, outcome: 'success' });
    return amr;
  }
}
