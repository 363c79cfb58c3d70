import type { ObjectId } from 'mongodb';
import { ApiError, InvalidInput } from '../../core/errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { actorSummary, type AdminActor } from './admin-access.ts';
import type { AdminRequest } from './application-admin.ts';
import { userPublicId } from '../../core/public-ids.ts';
import type { AuditActorDoc } from '../../store/audit-events.ts';

export interface AuditedOutcome<T> {
  result: T;
  /** The target's public id as the API shows it. */
  targetId: string | null;
  tenantId?: ObjectId | null;
  details?: Record<string, unknown>;
}

/** The actor of an admin write as its audit entry names it. */
export function adminAuditActor(actor: AdminActor): AuditActorDoc {
  return actor.kind === 'user'
    ? { type: 'admin', id: userPublicId(actor.userId), email: actor.user.email }
    : { type: 'client', id: actor.clientId, email: null };
}

/** What every admin write's audit entry carries: action, actor, address and request id. */
export function adminAuditBase(actor: AdminActor, request: AdminRequest, type: string) {
  return {
    type,
    userId: actor.kind === 'user' ? actor.userId : null,
    clientIp: request.clientIp,
    userAgent: request.userAgent,
    actor: adminAuditActor(actor),
    requestId: request.requestId,
  };
}

/**
 * Runs an admin write and records it, refusals included: actor, target, result, address and
 * request id (the same shape as the Applications group's entries).
 */
export async function auditedAdminWrite<T>(
  audit: AuditLog,
  actor: AdminActor,
  request: AdminRequest,
  type: string,
  target: { type: string; id: string | null },
  work: () => Promise<AuditedOutcome<T>>,
): Promise<T> {
  const base = adminAuditBase(actor, request, type);
  const details = (extra: Record<string, unknown>) => ({ actor: actorSummary(actor), request_id: request.requestId, ...extra });
  try {
    const outcome = await work();
    await audit.record({ ...base, outcome: 'success', tenantId: outcome.tenantId ?? null, details: details({ target: { type: target.type, id: outcome.targetId }, ...outcome.details }) });
    return outcome.result;
  } catch (error) {
    const reason = error instanceof ApiError ? error.id : error instanceof InvalidInput ? 'invalid_input' : 'error';
    await audit.record({ ...base, outcome: 'failure', tenantId: actor.kind === 'user' ? actor.user.tenant_id : null, details: details({ target, reason }) });
    throw error;
  }
}

/** Partners and platform settings: super admins and GLOBAL platform tokens only (docs §2, §8.6, §8.22). */
export function requirePlatformReach(actor: AdminActor): void {
  if (actor.reach.kind !== 'platform') throw new ApiError('superAdminRequired', { internal: `reach ${actor.reach.kind}` });
}
