import { ObjectId } from 'mongodb';
import type { RefreshTokenDoc, RefreshTokenStore } from '../../store/refresh-tokens.ts';
import type { SessionDoc, SessionStore } from '../../store/sessions.ts';
import type { RecentDocuments } from '../../store/recent-documents.ts';
import { ApiError } from '../../core/errors.ts';
import { hashToken, newOpaqueToken, type SecretBox } from '../crypto/secrets.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';

export interface SessionLifetimes {
  idleSeconds: number;
  absoluteSeconds: number;
}

export interface SessionPolicy {
  normal: SessionLifetimes;
  rememberMe: SessionLifetimes;
  /** Seconds during which the immediate predecessor of a refresh token still yields its successor. */
  reuseGraceSeconds: number;
}

export interface NewSession {
  session: SessionDoc;
  refreshToken: string;
}

export type RefreshOutcome =
  | { kind: 'rotated'; session: SessionDoc; refreshToken: string }
  | { kind: 'reuse-detected'; sessionId: ObjectId };

const invalidRefresh = (internal: string) => new ApiError('invalidRefreshToken', { internal });

/**
 * Sessions and their refresh-token families. A refresh token is single-use: rotation is one atomic
 * conditional update on the presented token (`rotated_at: null` in the filter), so of two concurrent
 * refreshes exactly one wins. A token presented after rotation is reuse: within the grace window
 * the loser gets the same successor (two tabs); after it, the whole family is revoked.
 */
export class Sessions {
  constructor(
    private readonly sessions: SessionStore,
    private readonly refreshTokens: RefreshTokenStore,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly policy: SessionPolicy,
    private readonly recent?: RecentDocuments<SessionDoc>,
  ) {}

  async create(input: { tenantId: ObjectId; userId: ObjectId; rememberMe: boolean; amr: string[]; clientIp: string; userAgent: string; lifetimes?: SessionLifetimes }): Promise<NewSession> {
    const now = this.clock.now();
    const lifetimes = input.lifetimes ?? (input.rememberMe ? this.policy.rememberMe : this.policy.normal);
    const session: SessionDoc = {
      _id: new ObjectId(),
      tenant_id: input.tenantId,
      user_id: input.userId,
      remember_me: input.rememberMe,
      amr: input.amr,
      client_ip: input.clientIp,
      user_agent: input.userAgent.slice(0, 512),
      created_at: now,
      last_seen_at: now,
      idle_expires_at: addSeconds(now, lifetimes.idleSeconds),
      absolute_expires_at: addSeconds(now, lifetimes.absoluteSeconds),
      revoked_at: null,
      revoked_reason: null,
    };
    await this.sessions.insert(session);
    const refreshToken = await this.insertRefreshToken(session, now);
    return { session, refreshToken };
  }

  /** The session if it is live: not revoked and within both lifetimes. */
  async findActive(sessionId: string): Promise<SessionDoc | null> {
    if (!ObjectId.isValid(sessionId)) return null;
    const now = this.clock.now();
    return this.sessions.findActive(new ObjectId(sessionId), now);
  }

  /**
   * Like findActive, but a copy read by an earlier request of this process may answer (see
   * RecentDocuments); liveness is checked on it all the same. For the bearer check of every request.
   */
  async findActiveRecent(sessionId: string): Promise<SessionDoc | null> {
    if (!this.recent?.enabled) return this.findActive(sessionId);
    if (!ObjectId.isValid(sessionId)) return null;
    const now = this.clock.now();
    const id = new ObjectId(sessionId);
    const session = await this.recent.get(id, () => this.sessions.findById(id));
    const live = session && session.revoked_at === null && session.idle_expires_at > now && session.absolute_expires_at > now;
    return live ? session : null;
  }

  async refresh(presented: string): Promise<RefreshOutcome> {
    const now = this.clock.now();
    const tokenHash = hashToken(presented);
    const successor = newOpaqueToken('rt');
    const claimed = await this.refreshTokens.claim(tokenHash, now, this.box.seal(successor, `refresh:${tokenHash}`));
    if (claimed) {
      const session = await this.touchSession(claimed.session_id, now);
      if (!session) {
        await this.revokeFamily(claimed.session_id, 'session expired');
        throw invalidRefresh('session expired or revoked');
      }
      await this.insertRefreshToken(session, now, successor);
      return { kind: 'rotated', session, refreshToken: successor };
    }

    const existing = await this.refreshTokens.findByHash(tokenHash);
    if (!existing) throw invalidRefresh('unknown refresh token');
    if (existing.revoked_at) throw invalidRefresh('revoked refresh token');
    if (existing.expires_at <= now) throw invalidRefresh('expired refresh token');
    const withinGrace = existing.rotated_at !== null && now.getTime() - existing.rotated_at.getTime() <= this.policy.reuseGraceSeconds * 1000;
    if (withinGrace && existing.successor_enc) {
      // Only the immediate predecessor qualifies: its successor must itself still be unused.
      const previousSuccessor = this.box.open(existing.successor_enc, `refresh:${tokenHash}`);
      const successorDoc = await this.awaitSuccessor(hashToken(previousSuccessor));
      const live = successorDoc && successorDoc.rotated_at === null && successorDoc.revoked_at === null;
      const session = live ? await this.findActive(existing.session_id.toHexString()) : null;
      if (live && session) return { kind: 'rotated', session, refreshToken: previousSuccessor };
    }
    await this.revokeFamily(existing.session_id, 'refresh token reuse');
    return { kind: 'reuse-detected', sessionId: existing.session_id };
  }

  /** The winner of a rotation inserts the successor just after claiming; a concurrent loser may look first. */
  private async awaitSuccessor(successorHash: string): Promise<RefreshTokenDoc | null> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const doc = await this.refreshTokens.findByHash(successorHash);
      if (doc) return doc;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return null;
  }

  async revoke(sessionId: ObjectId, reason: string): Promise<void> {
    await this.revokeFamily(sessionId, reason);
  }

  /** Ends every session of a user (password change, disable), optionally sparing one. */
  async revokeAllForUser(userId: ObjectId, reason: string, except?: ObjectId): Promise<number> {
    const now = this.clock.now();
    const ids = await this.sessions.findUnrevokedIdsForUser(userId, except);
    if (ids.length === 0) return 0;
    await this.sessions.revokeMany(ids, reason, now);
    await this.refreshTokens.revokeForSessions(ids, now);
    return ids.length;
  }

  private async revokeFamily(sessionId: ObjectId, reason: string): Promise<void> {
    const now = this.clock.now();
    await this.sessions.revoke(sessionId, reason, now);
    await this.refreshTokens.revokeForSessions([sessionId], now);
  }

  /** Slides the idle expiry of a live session; the liveness guard and the write are one atomic update. */
  private async touchSession(sessionId: ObjectId, now: Date): Promise<SessionDoc | null> {
    for (const rememberMe of [false, true]) {
      const lifetimes = rememberMe ? this.policy.rememberMe : this.policy.normal;
      // Reads check both expiries, so an idle expiry past the absolute one never extends a session.
      const touched = await this.sessions.touch(sessionId, rememberMe, now, addSeconds(now, lifetimes.idleSeconds));
      if (touched) return touched;
    }
    return null;
  }


  private async insertRefreshToken(session: SessionDoc, now: Date, token = newOpaqueToken('rt')): Promise<string> {
    const lifetimes = session.remember_me ? this.policy.rememberMe : this.policy.normal;
    const idle = addSeconds(now, lifetimes.idleSeconds);
    await this.refreshTokens.insert({
      _id: new ObjectId(),
      token_hash: hashToken(token),
      tenant_id: session.tenant_id,
      user_id: session.user_id,
      session_id: session._id,
      created_at: now,
      expires_at: idle < session.absolute_expires_at ? idle : session.absolute_expires_at,
      rotated_at: null,
      successor_enc: null,
      revoked_at: null,
    });
    return token;
  }
}
