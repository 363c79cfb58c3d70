import { ObjectId } from 'mongodb';
import type { Logger } from 'pino';
import type { AuditEventStore } from '../../store/audit-events.ts';
import type { Clock } from '../../core/clock.ts';
import type { SecurityMetrics } from '../../core/metrics.ts';

export interface AuditInput {
  type: string;
  outcome: 'success' | 'failure';
  tenantId?: ObjectId | null;
  userId?: ObjectId | null;
  clientIp?: string;
  userAgent?: string;
  details?: Record<string, unknown>;
}

/** Security events users and operators can read back. Recording never fails the request. */
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
      await this.events.insert({
        _id: new ObjectId(),
        tenant_id: event.tenantId ?? null,
        user_id: event.userId ?? null,
        type: event.type,
        outcome: event.outcome,
        client_ip: event.clientIp ?? '',
        user_agent: (event.userAgent ?? '').slice(0, 512),
        details: event.details ?? {},
        created_at: this.clock.now(),
      });
    } catch (error) {
      this.logger.error({ err: error, type: event.type }, 'audit event not recorded');
    }
  }
}
