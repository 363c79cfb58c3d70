import { ObjectId } from 'mongodb';
import type { RefreshTokenDoc, RefreshTokenStore } from '../../store/refresh-tokens.ts';
import { REFRESH_HISTORY, type OAuthGrantState, type SessionDoc, type SessionQuery, type SessionStore } from '../../store/sessions.ts';
import type { RecentDocuments } from '../../store/recent-documents.ts';
import { ApiError } from '../../core/errors.ts';
import { constantTimeEqual, hashToken, newOpaqueToken, type SecretBox } from '../crypto/secrets.ts';
import { addSeconds, type Clock } from '../../core/clock.ts';
import type { ParsedRefreshToken, RefreshTokenCodec } from './refresh-token-codec.ts';

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

export interface NewSessionInput {
  tenantId: ObjectId;
  userId: ObjectId;
  rememberMe: boolean;
  amr: string[];
  clientIp: string;
  userAgent: string;
  lifetimes?: SessionLifetimes;
  /** An app's session (OpenID Connect): what was granted to which client. */
  oauth?: OAuthGrantState;
  /** A pre-allocated id (an authorization code names the session its exchange creates). */
  id?: ObjectId;
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
 * conditional write on the session (the family's nonce and the presented generation in the filter), so
 * of two concurrent refreshes exactly one wins, and a retry after a lost answer is simply the loser
 * of that race. The immediate predecessor presented within the grace window gets the same successor
 * (two tabs, a retry); an earlier token is reuse and revokes the whole family. Token formats are in
 * refresh-token-codec.ts; tokens minted before families moved onto sessions (`rt_` and 43
 * characters) still rotate in `refresh_tokens`.
 */
export class Sessions {
  constructor(
    private readonly sessions: SessionStore,
    private readonly refreshTokens: RefreshTokenStore,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly policy: SessionPolicy,
    private readonly codec: RefreshTokenCodec,
    private readonly recent?: RecentDocuments<SessionDoc>,
  ) {}

  /** A session with its first refresh token (the portal): one insert. */
  async create(input: NewSessionInput): Promise<NewSession> {
    const now = this.clock.now();
    const session = this.newSession(input, now, null);
    const nonce = this.codec.newNonce();
    const refreshToken = this.codec.mint(session._id, 0, input.rememberMe, nonce);
    session.refresh = { nonce, generation: 0, rotated_at: null };
    await this.sessions.insert(session);
    return { session, refreshToken };
  }

  /**
   * A hosted-page session: no refresh token, but a secret of its own (256 bits, stored only as a
   * SHA-256 hash) for the HttpOnly session cookie, which POST /auth/refresh therefore never accepts.
   */
  async createBrowserSession(input: NewSessionInput): Promise<{ session: SessionDoc; browserSecret: string }> {
    const now = this.clock.now();
    // `bs_<session id>.<256 random bits>`: the id routes the lookup by `_id` (no index on the hash).
    const id = input.id ?? new ObjectId();
    const browserSecret = `bs_${id.toHexString()}.${newOpaqueToken('bs').slice(3)}`;
    const session = this.newSession({ ...input, id }, now, hashToken(browserSecret));
    await this.sessions.insert(session);
    return { session, browserSecret };
  }

  private newSession(input: NewSessionInput, now: Date, browserSecretHash: string | null): SessionDoc {
    const lifetimes = input.lifetimes ?? (input.rememberMe ? this.policy.rememberMe : this.policy.normal);
    return {
      _id: input.id ?? new ObjectId(),
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
      ...(browserSecretHash ? { browser_secret_hash: browserSecretHash } : {}),
      ...(input.oauth ? { oauth: input.oauth } : {}),
    };
  }

  /** An app's session without a refresh token (the app may not keep one): one insert. */
  async createWithoutRefresh(input: NewSessionInput): Promise<SessionDoc> {
    const session = this.newSession(input, this.clock.now(), null);
    await this.sessions.insert(session);
    return session;
  }

  /** Whether `token` is the session's current refresh token (introspection, revocation). */
  isCurrentRefreshToken(session: SessionDoc, token: string): boolean {
    const parsed = this.codec.parse(token);
    const family = session.refresh;
    if (!family || !parsed || parsed === 'forged' || !parsed.sessionId.equals(session._id)) return false;
    if (parsed.nonce === null) return !!family.hash && family.hash === hashToken(token);
    return family.nonce === parsed.nonce && family.generation === parsed.generation;
  }

  /** The live browser session whose cookie carries this secret (compared by its hash, in constant time). */
  async findBrowserSession(secret: string): Promise<SessionDoc | null> {
    const match = /^bs_([0-9a-f]{24})\.[A-Za-z0-9_-]{43}$/.exec(secret);
    if (!match) return null;
    const session = await this.findActiveRecent(match[1]!);
    const hash = session?.browser_secret_hash;
    return hash && constantTimeEqual(hash, hashToken(secret)) ? session : null;
  }

  /** Ends a browser session and every app session it signed in. */
  async revokeWithChildren(session: SessionDoc, reason: string): Promise<void> {
    const now = this.clock.now();
    const ids = [session._id, ...(await this.sessions.findUnrevokedChildIds(session.tenant_id, session.user_id, session._id))];
    await this.sessions.revokeMany(ids, reason, now);
  }

  /** Ends a user's sessions of one app (a revoked consent); returns how many. */
  async revokeForClient(userId: ObjectId, clientId: string, reason: string): Promise<number> {
    const ids = await this.sessions.findUnrevokedIdsForClient(userId, clientId);
    return this.sessions.revokeMany(ids, reason, this.clock.now());
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

  /**
   * Rotation is one conditional write on the session (see the class comment). When it does not
   * match, the session is read once to tell a second tab within the grace window, reuse of a
   * genuine earlier token (the family is revoked) and a token that was never current (refused).
   * Tokens of the `refresh_tokens` collection rotate as they did: several writes, each safe to retry.
   */
  async refresh(presented: string, clientId: string | null = null): Promise<RefreshOutcome> {
    const parsed = this.codec.parse(presented);
    if (parsed === 'forged') throw invalidRefresh('refresh token MAC mismatch');
    if (!parsed) {
      // Legacy families predate OAuth clients: they are the portal's only.
      if (clientId !== null) throw invalidRefresh('not a token of this client');
      return this.refreshLegacy(presented);
    }
    const now = this.clock.now();
    const lifetimes = parsed.rememberMe ? this.policy.rememberMe : this.policy.normal;
    // Reads check both expiries, so an idle expiry past the absolute one never extends a session.
    const idleExpiresAt = addSeconds(now, lifetimes.idleSeconds);
    if (parsed.nonce !== null) {
      const rotated = await this.sessions.rotateRefresh(parsed.sessionId, { nonce: parsed.nonce, generation: parsed.generation }, now, idleExpiresAt, clientId);
      if (rotated) return { kind: 'rotated', session: rotated, refreshToken: this.codec.mint(parsed.sessionId, parsed.generation + 1, parsed.rememberMe, parsed.nonce) };
    } else {
      const hash = hashToken(presented);
      const nonce = this.codec.newNonce();
      const successor = this.codec.mint(parsed.sessionId, parsed.generation + 1, parsed.rememberMe, nonce);
      const rotated = await this.sessions.rotateRandomRefresh(
        parsed.sessionId,
        { hash, generation: parsed.generation },
        { nonce, successorEnc: this.box.seal(successor, `refresh:${hash}`) },
        now,
        idleExpiresAt,
        clientId,
      );
      if (rotated) return { kind: 'rotated', session: rotated, refreshToken: successor };
    }
    return this.refreshNotRotated(parsed, presented, now, clientId);
  }

  /** The rotation did not match: a second tab or retry within the grace window, reuse, or a refusal. */
  private async refreshNotRotated(parsed: ParsedRefreshToken, presented: string, now: Date, clientId: string | null): Promise<RefreshOutcome> {
    const session = await this.sessions.findById(parsed.sessionId);
    const family = session?.refresh;
    if (!session || !family) throw invalidRefresh('unknown refresh token');
    // Another client's token (or a portal token at the token endpoint, or the reverse): refused
    // before any reuse logic, so it can neither rotate nor revoke that family.
    if ((session.oauth?.client_id ?? null) !== clientId) throw invalidRefresh('refresh token of another client');
    if (session.revoked_at) throw invalidRefresh('revoked refresh token');
    if (session.idle_expires_at <= now || session.absolute_expires_at <= now) throw invalidRefresh('expired refresh token');
    const withinGrace = (at: Date | null | undefined) => !!at && now.getTime() - at.getTime() <= this.policy.reuseGraceSeconds * 1000;
    // Only the immediate predecessor of the current token qualifies for the grace window: a second
    // tab, or a retry whose answer was lost (rotation is one write, so it either happened or the
    // retry rotates anew). It gets the current token again; after the window it is reuse.
    const predecessor = parsed.generation + 1 === family.generation;
    if (parsed.nonce !== null) {
      // A genuine token (its MAC held) of another family of this session, or one never issued yet.
      if (family.nonce !== parsed.nonce || parsed.generation >= family.generation) throw invalidRefresh('unknown refresh token');
      if (predecessor && withinGrace(family.rotated_at)) {
        return { kind: 'rotated', session, refreshToken: this.codec.mint(session._id, family.generation, parsed.rememberMe, family.nonce) };
      }
    } else {
      const hash = hashToken(presented);
      if (family.previous_hash === hash && family.previous_successor_enc) {
        if (predecessor && withinGrace(family.previous_rotated_at)) {
          return { kind: 'rotated', session, refreshToken: this.box.open(family.previous_successor_enc, `refresh:${hash}`) };
        }
      } else if (family.rotated?.[String(parsed.generation % REFRESH_HISTORY)] !== hash) {
        // Never issued for this session (or older than the history): refused, nothing revoked, so
        // knowing a session id (the `sid` claim) is not enough to end someone's session.
        throw invalidRefresh('unknown refresh token');
      }
    }
    await this.revokeFamily(session._id, 'refresh token reuse');
    return { kind: 'reuse-detected', sessionId: session._id };
  }

  /** A token minted before families moved onto sessions: rotated in `refresh_tokens`, as then. */
  private async refreshLegacy(presented: string): Promise<RefreshOutcome> {
    const now = this.clock.now();
    const tokenHash = hashToken(presented);
    const successor = newOpaqueToken('rt');
    const claimed = await this.refreshTokens.claim(tokenHash, now, this.box.seal(successor, `refresh:${tokenHash}`));
    if (claimed) return this.completeRotation(claimed.session_id, now, successor);

    const existing = await this.refreshTokens.findByHash(tokenHash);
    if (!existing) throw invalidRefresh('unknown refresh token');
    if (existing.revoked_at) throw invalidRefresh('revoked refresh token');
    if (existing.expires_at <= now) throw invalidRefresh('expired refresh token');
    if (existing.rotated_at !== null && existing.successor_enc) {
      const previousSuccessor = this.box.open(existing.successor_enc, `refresh:${tokenHash}`);
      const successorDoc = await this.awaitSuccessor(hashToken(previousSuccessor));
      // Never stored: the rotation failed after its claim (or is still under way): finish it.
      if (!successorDoc) return this.completeRotation(existing.session_id, now, previousSuccessor);
      // Only the immediate predecessor qualifies: its successor must itself still be unused.
      const withinGrace = now.getTime() - existing.rotated_at.getTime() <= this.policy.reuseGraceSeconds * 1000;
      const live = withinGrace && successorDoc.rotated_at === null && successorDoc.revoked_at === null;
      const session = live ? await this.findActive(existing.session_id.toHexString()) : null;
      if (live && session) return { kind: 'rotated', session, refreshToken: previousSuccessor };
    }
    await this.revokeFamily(existing.session_id, 'refresh token reuse');
    return { kind: 'reuse-detected', sessionId: existing.session_id };
  }

  /**
   * The writes after a claim: slide the live session, store the successor (a no-op when a
   * concurrent completion stored it first). Safe to run again after any of them failed.
   */
  private async completeRotation(sessionId: ObjectId, now: Date, successor: string): Promise<RefreshOutcome> {
    const session = await this.touchSession(sessionId, now);
    if (!session) {
      await this.revokeFamily(sessionId, 'session expired');
      throw invalidRefresh('session expired or revoked');
    }
    await this.insertRefreshToken(session, now, successor);
    return { kind: 'rotated', session, refreshToken: successor };
  }

  /** The winner of a rotation inserts the successor just after claiming; a concurrent loser may look first. */
  private async awaitSuccessor(successorHash: string): Promise<RefreshTokenDoc | null> {
    for (let attempt = 0; attempt < 8; attempt++) {
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

  // --- Sessions admin and the user's own sessions (issue 17) -------------------------------------

  /**
   * Ends a session, the app sessions it signed in and their refresh tokens (both the families on
   * the sessions and legacy `refresh_tokens`); returns how many sessions this call ended (0: it
   * had ended already). Each write is conditional on `revoked_at: null`, so a retry is harmless.
   */
  async revokeTree(session: SessionDoc, reason: string): Promise<number> {
    const now = this.clock.now();
    const ids = [session._id, ...(await this.sessions.findUnrevokedChildIds(session.tenant_id, session.user_id, session._id))];
    const revoked = await this.sessions.revokeMany(ids, reason, now);
    await this.refreshTokens.revokeForSessions(ids, now);
    return revoked;
  }

  /** Ends every session of a user; returns how many this call ended. */
  async revokeEveryForUser(userId: ObjectId, reason: string): Promise<number> {
    return this.revokeIds(await this.sessions.findUnrevokedIdsForUser(userId), reason);
  }

  /** Ends every session of every user of a tenant; returns how many this call ended. */
  async revokeEveryForTenant(tenantId: ObjectId, reason: string): Promise<number> {
    return this.revokeIds(await this.sessions.findUnrevokedIdsForTenant(tenantId), reason);
  }

  /** One session in any state (admin reads); null when unknown. */
  findAny(id: ObjectId): Promise<SessionDoc | null> {
    return this.sessions.findById(id);
  }

  /** Live sessions, newest first, with their total (see SessionStore.listActive). */
  listActive(query: SessionQuery, page: { skip: number; limit: number }): Promise<{ items: SessionDoc[]; total: number }> {
    return this.sessions.listActive(query, this.clock.now(), page);
  }

  private async revokeIds(ids: ObjectId[], reason: string): Promise<number> {
    const now = this.clock.now();
    let revoked = 0;
    // In slices, so one tenant's many sessions are several bounded writes rather than one huge filter.
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      revoked += await this.sessions.revokeMany(slice, reason, now);
      await this.refreshTokens.revokeForSessions(slice, now);
    }
    return revoked;
  }

  /** Whether a session is live at this moment (not revoked, within both lifetimes). */
  isLive(session: SessionDoc): boolean {
    const now = this.clock.now();
    return session.revoked_at === null && session.idle_expires_at > now && session.absolute_expires_at > now;
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
    await this.refreshTokens.insertIfAbsent({
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
