import { ObjectId } from 'mongodb';
import type { FlowDoc, FlowKind, FlowStore } from '../../store/flows.ts';
import { hashToken, newOpaqueToken } from '../crypto/secrets.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

export const maxFlowFailures = 5;

const tokenPrefixes = { identify: 'ft', mfa: 'mfa', verify_email: 'ev', password_reset: 'pr' } as const;

/**
 * Short-lived login flows (identify → authenticate, and the MFA step). The token is returned once
 * and stored hashed. A flow is consumed by one atomic conditional update, so it works exactly once;
 * wrong answers are counted on it and end it after `maxFlowFailures`.
 */
export class Flows {
  constructor(
    private readonly flows: FlowStore,
    private readonly clock: Clock,
  ) {}

  async start(kind: FlowKind, ttlSeconds: number, fields: Partial<Omit<FlowDoc, '_id' | 'token_hash' | 'kind'>>): Promise<{ token: string; flow: FlowDoc }> {
    const now = this.clock.now();
    const token = newOpaqueToken(tokenPrefixes[kind]);
    const flow: FlowDoc = {
      _id: new ObjectId(),
      token_hash: hashToken(token),
      kind,
      email_normalized: null,
      user_id: null,
      tenant_id: null,
      channel: 'portal',
      remember_me: false,
      redirect_uri: null,
      failed_attempts: 0,
      created_at: now,
      expires_at: addSeconds(now, ttlSeconds),
      consumed_at: null,
      ...fields,
    };
    await this.flows.insert(flow);
    return { token, flow };
  }

  /** A live flow of this kind, or null: unknown, expired, consumed and exhausted look the same. */
  findLive(kind: FlowKind, token: string): Promise<FlowDoc | null> {
    return this.flows.findLive(kind, hashToken(token), this.clock.now(), maxFlowFailures);
  }

  /** Exactly one caller wins. */
  consume(flow: FlowDoc): Promise<boolean> {
    return this.flows.consume(flow._id, this.clock.now(), maxFlowFailures);
  }

  /**
   * Consumes the flow before an answer is checked, so of parallel answers only one is checked at
   * all: the claim's time, or null when another caller holds or consumed it. A wrong answer then
   * gives it back with `reopenAfterFailure`.
   */
  async claim(flow: FlowDoc): Promise<Date | null> {
    const now = this.clock.now();
    return (await this.flows.consume(flow._id, now, maxFlowFailures)) ? now : null;
  }

  /** The claimed flow's answer was wrong: it is live again with one more failure (ended at `maxFlowFailures`). */
  async reopenAfterFailure(flow: FlowDoc, claimedAt: Date): Promise<void> {
    await this.flows.reopenWithFailure(flow._id, claimedAt);
  }

  async recordFailure(flow: FlowDoc): Promise<void> {
    await this.flows.recordFailure(flow._id);
  }
}
