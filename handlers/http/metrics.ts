import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from '../core/errors.ts';
import type { SecurityMetrics } from '../core/metrics.ts';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, one registry per server instance (tests run several in one process). */
export class Metrics implements SecurityMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'operation' | 'status'>;
  private readonly latency: Histogram<'operation' | 'status'>;
  private readonly securityEvents: Counter<'type' | 'outcome'>;
  private readonly lockouts: Counter<'scope'>;
  private readonly refreshes: Counter<'outcome'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'scaikey_' });
    this.requests = new Counter({ name: 'scaikey_http_requests_total', help: 'Requests answered, by operationId and status', labelNames: ['operation', 'status'], registers: [this.registry] });
    this.latency = new Histogram({
      name: 'scaikey_http_request_duration_seconds',
      help: 'Request latency by operationId and status',
      labelNames: ['operation', 'status'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.securityEvents = new Counter({ name: 'scaikey_security_events_total', help: 'Login, MFA, password and token events by outcome', labelNames: ['type', 'outcome'], registers: [this.registry] });
    this.lockouts = new Counter({ name: 'scaikey_lockouts_total', help: 'Attempts refused by brute-force limits', labelNames: ['scope'], registers: [this.registry] });
    this.refreshes = new Counter({ name: 'scaikey_token_refreshes_total', help: 'Refresh-token rotations by outcome (rotated, grace, reuse_detected, invalid)', labelNames: ['outcome'], registers: [this.registry] });
  }

  observeRequest(operation: string, status: number, durationMs: number): void {
    const labels = { operation, status: String(status) };
    this.requests.inc(labels);
    this.latency.observe(labels, durationMs / 1000);
  }

  securityEvent(type: string, outcome: string): void {
    this.securityEvents.inc({ type, outcome });
  }

  lockout(scope: string): void {
    this.lockouts.inc({ scope });
  }

  refresh(outcome: 'rotated' | 'reuse_detected' | 'invalid'): void {
    this.refreshes.inc({ outcome });
  }
}

/**
 * `GET /metrics` for Prometheus, never for the public: without METRICS_TOKEN the route does not
 * exist (404, like any unknown path); with it, only `Authorization: Bearer <METRICS_TOKEN>` gets
 * the text (else 401 with a Bearer challenge). The comparison takes the same time for any token.
 */
export function metricsEndpoint(metrics: Metrics, token: string | undefined): RequestHandler {
  const expected = token ? createHash('sha256').update(token).digest() : undefined;
  return async (req, res, next) => {
    if (!expected) return next();
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    const given = createHash('sha256').update(match?.[1] ?? '').digest();
    if (!match || !timingSafeEqual(given, expected)) throw new ApiError(match ? 'invalidToken' : 'notAuthenticated', { internal: 'metrics token' });
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}
