import { ObjectId } from 'mongodb';
import type { Logger } from 'pino';
import type { AuditActorDoc, AuditEventDoc, AuditEventStore, AuditResourceDoc } from '../../store/audit-events.ts';
import type { Clock } from '../../core/clock.ts';
import type { SecurityMetrics } from '../../core/metrics.ts';
import { userPublicId } from '../../core/public-ids.ts';
import { deriveResource } from './audit-actions.ts';

export interface AuditInput {
  type: string;
  outcome: 'success' | 'failure';
  tenantId?: ObjectId | null;
  userId?: ObjectId | null;
  clientIp?: string;
  userAgent?: string;
  details?: Record<string, unknown>;
  /** Who acted; derived when absent (details.actor of admin writes, else the subject user, else the system). */
  actor?: AuditActorDoc;
  /** What it is about; derived from the type's catalogue entry when absent. */
  resource?: AuditResourceDoc;
  partnerId?: string | null;
  /** The request's id; details.request_id when absent. */
  requestId?: string | null;
}

/**
 * The actor of an entry that did not name one: the admin summary admin writes put in their
 * details (`{kind, id, role}`), else the subject user (security events are the user's own acts),
 * else the system.
 */
export function deriveActor(event: Pick<AuditEventDoc, 'user_id' | 'details'>): AuditActorDoc {
  const summary = event.details?.['actor'];
  if (summary && typeof summary === 'object') {
    const { kind, id } = summary as { kind?: unknown; id?: unknown };
    if (kind === 'client' && typeof id === 'string') return { type: 'client', id, email: null };
    if (kind === 'user' && typeof id === 'string') return { type: 'admin', id: /^[0-9a-f]{24}$/.test(id) ? userPublicId(id) : id, email: null };
  }
  if (event.user_id) return { type: 'user', id: userPublicId(event.user_id), email: null };
  return { type: 'system', id: null, email: null };
}

/** Security events users and operators can read back. Recording never fails the request. Append-only. */
export class AuditLog {
  constructor(
    private readonly events: AuditEventStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics?: SecurityMetrics,
  ) {}

  async record(event: AuditInput): Promise<void> {
    this.metrics?.securityEvent(event.type, event.outcome);
    try {
      const details = event.details ?? {};
      const userId = event.userId ?? null;
      const requestId = event.requestId ?? (typeof details['request_id'] === 'string' ? details['request_id'] : null);
      await this.events.insert({
        _id: new ObjectId(),
        tenant_id: event.tenantId ?? null,
        user_id: userId,
        type: event.type,
        outcome: event.outcome,
        client_ip: event.clientIp ?? '',
        user_agent: (event.userAgent ?? '').slice(0, 512),
        details,
        created_at: this.clock.now(),
        actor: event.actor ?? deriveActor({ user_id: userId, details }),
        resource: event.resource ?? deriveResource(event.type, { userPublicId: userId ? userPublicId(userId) : null, details }),
        partner_id: event.partnerId ?? null,
        request_id: requestId,
      });
    } catch (error) {
      this.logger.error({ err: error, type: event.type }, 'audit event not recorded');
    }
  }
}
