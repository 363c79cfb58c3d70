/** What the domain reports for operators' dashboards; the HTTP edge's Prometheus registry implements it. */
export interface SecurityMetrics {
  securityEvent(type: string, outcome: string): void;
  lockout(scope: 'ip' | 'account'): void;
  refresh(outcome: 'rotated' | 'reuse_detected' | 'invalid'): void;
}

export const noMetrics: SecurityMetrics = { securityEvent: () => undefined, lockout: () => undefined, refresh: () => undefined };
