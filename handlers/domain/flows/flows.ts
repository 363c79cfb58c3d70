import { ObjectId } from 'mongodb';
import type { FlowDoc, FlowKind, FlowStore } from '../../store/flows.ts';
import { hashToken, newOpaqueToken, type SecretBox } from '../crypto/secrets.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

export const maxFlowFailures = 5;

const tokenPrefixes = { identify: 'ft', mfa: 'mfa', verify_email: 'ev', password_reset: 'pr' } as const;

/** A flow document as it starts: unanswered, nothing failed, not consumed. */
function newFlow(id: ObjectId, kind: FlowKind, token: string, now: Date, expiresAt: Date, fields: Partial<Omit<FlowDoc, '_id' | 'token_hash' | 'kind'>>): FlowDoc {
  return {
    _id: id,
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
    expires_at: expiresAt,
    consumed_at: null,
    ...fields,
  };
}

/** What an identify token carries, sealed: the flow's id, the address and when it ends. */
interface IdentifyClaims {
  i: string;
  e: string;
  x: number;
}

const identifyContext = 'flow:identify';
const sealedIdentifyPattern = /^ft_v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/;
/** The spec's maxLength of AuthenticateRequest.flow_token. */
const maxIdentifyTokenLength = 512;

/**
 * Short-lived login flows (identify → authenticate, and the MFA step). The token is returned once
 * and stored hashed. A flow is consumed by one atomic conditional update, so it works exactly once;
 * wrong answers are counted on it and end it after `maxFlowFailures`.
 *
 * Identify flows are not written at identify, which everyone may call: their token seals the
 * flow's id, address and expiry (AES-GCM), and the flow document is written only when the token
 * is first answered (a failure counted, or the flow consumed), by the same conditional update.
 */
export class Flows {
  constructor(
    private readonly flows: FlowStore,
    private readonly clock: Clock,
    private readonly box?: SecretBox,
  ) {}

  /**
   * An identify flow: nothing stored until it is answered (see the class comment). An address so
   * long (in UTF-8) that its token would pass the 512 characters authenticate accepts gets a
   * stored flow instead.
   */
  async startIdentify(ttlSeconds: number, emailNormalized: string): Promise<{ token: string }> {
    if (this.box) {
      const claims: IdentifyClaims = { i: new ObjectId().toHexString(), e: emailNormalized, x: addSeconds(this.clock.now(), ttlSeconds).getTime() };
      const token = `ft_${this.box.seal(JSON.stringify(claims), identifyContext)}`;
      if (token.length <= maxIdentifyTokenLength) return { token };
    }
    return this.start('identify', ttlSeconds, { email_normalized: emailNormalized, channel: 'portal' });
  }

  async start(kind: FlowKind, ttlSeconds: number, fields: Partial<Omit<FlowDoc, '_id' | 'token_hash' | 'kind'>>): Promise<{ token: string; flow: FlowDoc }> {
    const now = this.clock.now();
    const token = newOpaqueToken(tokenPrefixes[kind]);
    const flow = newFlow(new ObjectId(), kind, token, now, addSeconds(now, ttlSeconds), fields);
    await this.flows.insert(flow);
    return { token, flow };
  }

  /** A live flow of this kind, or null: unknown, expired, consumed and exhausted look the same. */
  async findLive(kind: FlowKind, token: string): Promise<FlowDoc | null> {
    const now = this.clock.now();
    const sealed = kind === 'identify' ? this.openIdentify(token) : undefined;
    if (!sealed) return this.flows.findLive(kind, hashToken(token), now, maxFlowFailures);
    if (sealed.x <= now.getTime()) return null;
    const id = new ObjectId(sealed.i);
    const stored = await this.flows.findById(id);
    if (stored) {
      const live = stored.kind === 'identify' && stored.consumed_at === null && stored.expires_at > now && stored.failed_attempts < maxFlowFailures;
      return live ? stored : null;
    }
    return newFlow(id, 'identify', token, now, new Date(sealed.x), { email_normalized: sealed.e, channel: 'portal' });
  }

  /** Exactly one caller wins. */
  consume(flow: FlowDoc): Promise<boolean> {
    if (flow.kind === 'identify') return this.flows.consumeOrInsert(flow, this.clock.now(), maxFlowFailures);
    return this.flows.consume(flow._id, this.clock.now(), maxFlowFailures);
  }

  /** The sealed claims of a new-style identify token, or undefined (a stored flow's token, or garbage). */
  private openIdentify(token: string): IdentifyClaims | undefined {
    if (!this.box || !token.startsWith('ft_v1.')) return undefined;
    // Strictly the sealed form: base64url decoding would skip stray bytes (a trailing NUL, say).
    if (!sealedIdentifyPattern.test(token)) return { i: new ObjectId().toHexString(), e: '', x: 0 };
    try {
      const claims = JSON.parse(this.box.open(token.slice(3), identifyContext)) as Partial<IdentifyClaims>;
      if (typeof claims.i !== 'string' || !ObjectId.isValid(claims.i) || typeof claims.e !== 'string' || typeof claims.x !== 'number') return undefined;
      return claims as IdentifyClaims;
    } catch {
      // Tampered, truncated or sealed under another key: an unknown token.
      return { i: new ObjectId().toHexString(), e: '', x: 0 };
    }
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
    if (flow.kind === 'identify') await this.flows.recordFailureOrInsert(flow);
    else await this.flows.recordFailure(flow._id);
  }
}
