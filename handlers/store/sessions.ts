import type { Collection, Filter, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';
import { EXTENDS_ONLY } from './write-monitor.ts';

export interface SessionDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  user_id: ObjectId;
  remember_me: boolean;
  /** Authentication methods used, e.g. ["pwd"] or ["pwd", "otp"]. */
  amr: string[];
  client_ip: string;
  user_agent: string;
  created_at: Date;
  last_seen_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
  /**
   * A hosted-page (browser) session: SHA-256 of the secret its HttpOnly cookie carries. That
   * secret is the session's own, never a refresh token; portal sessions have none.
   */
  browser_secret_hash?: string | null;
  /** The session's refresh-token family (portal sessions; absent on older and hosted-page sessions). */
  refresh?: SessionRefreshState;
  /** An OAuth client's session: what one authorization granted to one app (absent on other sessions). */
  oauth?: OAuthGrantState | null;
}

/**
 * The grant behind an app's tokens. An OpenID Connect sign-in is a ScaiKey session of its own,
 * child of the browser session that signed in, so ending either (logout, password change, admin
 * revocation, a revoked consent, a reused code) ends the app's access and refresh tokens.
 */
export interface OAuthGrantState {
  client_id: string;
  /** Space-separated granted scope. */
  scope: string;
  /** The issuer whose tokens these are (tenant or platform). */
  issuer: string;
  /** The browser (hosted) session that signed in; null for grants without one. */
  parent_id: ObjectId | null;
  auth_time: Date;
  acr: string | null;
  /** The `claims` request parameter's userinfo member, as JSON (OpenID Connect Core §5.5). */
  userinfo_claims: string | null;
}

/**
 * A refresh-token family kept on its session, so rotating is one conditional write by `_id`: the
 * family and generation in the filter, the next generation and the slid idle expiry in the update.
 * Derived families (domain/sessions/refresh-token-codec.ts) hold only `nonce`, `generation` and
 * `rotated_at`: their tokens are minted from them. Families from before derived tokens also hold
 * the hashes of random tokens; the first rotation moves them to derived tokens and keeps those
 * hashes, so their earlier tokens are still recognised.
 */
export interface SessionRefreshState {
  generation: number;
  /** Derived families: the family's random nonce (every token of the family carries it). */
  nonce?: string;
  /** When the current generation was issued by a rotation (null: generation 0). */
  rotated_at?: Date | null;
  /** Random tokens: SHA-256 of the current one; null once the family has moved to derived tokens. */
  hash?: string | null;
  /** Random tokens: the last random predecessor, within the grace window answered with its sealed successor. */
  previous_hash?: string | null;
  previous_rotated_at?: Date | null;
  previous_successor_enc?: string | null;
  /** Random tokens: hashes of earlier ones by generation mod REFRESH_HISTORY: presenting one is reuse. */
  rotated?: Record<string, string>;
}

/** How many earlier generations are remembered for reuse detection. */
export const REFRESH_HISTORY = 16;

/** `sessions`: its indexes and expiry. */
export const sessionsCollection = defineCollection<SessionDoc>({
  name: 'sessions',
  indexes: [
    { key: { tenant_id: 1, user_id: 1 }, name: 'tenant_user' },
  ],
  expiry: { field: 'absolute_expires_at', marginSeconds: 86_400 },
});

/** Reads and guarded writes of `sessions`; every state change is one conditional update. */
export class SessionStore {
  constructor(private readonly collection: Collection<SessionDoc>) {}

  async insert(session: SessionDoc): Promise<void> {
    await this.collection.insertOne(session);
  }

  /** Any state: for the recent-documents cache, whose reader checks liveness itself. */
  findById(id: ObjectId): Promise<SessionDoc | null> {
    return this.collection.findOne({ _id: id });
  }

  /** The session if it is not revoked and within both lifetimes at `now`. */
  findActive(id: ObjectId, now: Date): Promise<SessionDoc | null> {
    return this.collection.findOne({ _id: id, revoked_at: null, idle_expires_at: { $gt: now }, absolute_expires_at: { $gt: now } });
  }

  /**
   * Slides the idle expiry of a live session with this remember-me setting; liveness guard and
   * write are one update. Returns the session after the update, or null when it is not live.
   */
  touch(id: ObjectId, rememberMe: boolean, now: Date, idleExpiresAt: Date): Promise<SessionDoc | null> {
    return this.collection.findOneAndUpdate(
      { _id: id, remember_me: rememberMe, revoked_at: null, idle_expires_at: { $gt: now }, absolute_expires_at: { $gt: now } },
      { $set: { last_seen_at: now, idle_expires_at: idleExpiresAt } },
      // Only extends the session: other replicas' cached copies stay good enough.
      { returnDocument: 'after', comment: EXTENDS_ONLY },
    );
  }

  /**
   * Rotates a derived family from `presented.generation` to the next, if the session is live at
   * `now` and of this client: one atomic write that also slides the idle expiry. Returns the session
   * after it, or null (another rotation won, the generation is not current, or the session is not live).
   */
  rotateRefresh(
    id: ObjectId,
    presented: { nonce: string; generation: number },
    now: Date,
    idleExpiresAt: Date,
    /** The OAuth client the family belongs to; null: a portal family (no `oauth`). */
    clientId: string | null = null,
  ): Promise<SessionDoc | null> {
    return this.collection.findOneAndUpdate(
      { _id: id, 'refresh.nonce': presented.nonce, 'refresh.generation': presented.generation, 'oauth.client_id': clientId, revoked_at: null, idle_expires_at: { $gt: now }, absolute_expires_at: { $gt: now } },
      { $set: { 'refresh.generation': presented.generation + 1, 'refresh.rotated_at': now, last_seen_at: now, idle_expires_at: idleExpiresAt } },
      // Only the family and the idle expiry change: other replicas' cached copies stay good enough.
      { returnDocument: 'after', comment: EXTENDS_ONLY },
    );
  }

  /**
   * Rotates a family of random tokens whose current token is `presented`, moving it to derived
   * tokens (`next.nonce`) in the same write; the random token's hash joins the history and its
   * sealed successor is kept for the grace window.
   */
  rotateRandomRefresh(
    id: ObjectId,
    presented: { hash: string; generation: number },
    next: { nonce: string; successorEnc: string },
    now: Date,
    idleExpiresAt: Date,
    clientId: string | null = null,
  ): Promise<SessionDoc | null> {
    return this.collection.findOneAndUpdate(
      { _id: id, 'refresh.hash': presented.hash, 'refresh.generation': presented.generation, 'oauth.client_id': clientId, revoked_at: null, idle_expires_at: { $gt: now }, absolute_expires_at: { $gt: now } },
      {
        $set: {
          'refresh.hash': null,
          'refresh.nonce': next.nonce,
          'refresh.generation': presented.generation + 1,
          'refresh.rotated_at': now,
          'refresh.previous_hash': presented.hash,
          'refresh.previous_rotated_at': now,
          'refresh.previous_successor_enc': next.successorEnc,
          [`refresh.rotated.${presented.generation % REFRESH_HISTORY}`]: presented.hash,
          last_seen_at: now,
          idle_expires_at: idleExpiresAt,
        },
      },
      { returnDocument: 'after', comment: EXTENDS_ONLY },
    );
  }

  /** True when this call revoked the session (false: unknown or already revoked). */
  async revoke(id: ObjectId, reason: string, now: Date): Promise<boolean> {
    const result = await this.collection.updateOne({ _id: id, revoked_at: null }, { $set: { revoked_at: now, revoked_reason: reason } });
    return result.modifiedCount === 1;
  }

  /**
   * Ids of the unrevoked app sessions a browser session signed in: found through the user's
   * sessions (the tenant_user index), so writes to sessions maintain no index of their own for it.
   */
  async findUnrevokedChildIds(tenantId: ObjectId, userId: ObjectId, parentId: ObjectId): Promise<ObjectId[]> {
    const sessions = await this.collection.find({ tenant_id: tenantId, user_id: userId, 'oauth.parent_id': parentId, revoked_at: null }, { projection: { _id: 1 } }).toArray();
    return sessions.map((s) => s._id);
  }

  /** Ids of a user's unrevoked sessions of one app. */
  async findUnrevokedIdsForClient(userId: ObjectId, clientId: string): Promise<ObjectId[]> {
    const sessions = await this.collection.find({ user_id: userId, 'oauth.client_id': clientId, revoked_at: null }, { projection: { _id: 1 } }).toArray();
    return sessions.map((s) => s._id);
  }

  /** Ids of the user's unrevoked sessions (expired ones included), optionally sparing one. */
  async findUnrevokedIdsForUser(userId: ObjectId, except?: ObjectId): Promise<ObjectId[]> {
    const filter = { user_id: userId, revoked_at: null, ...(except ? { _id: { $ne: except } } : {}) };
    const sessions = await this.collection.find(filter, { projection: { _id: 1 } }).toArray();
    return sessions.map((s) => s._id);
  }

  /** Revokes those of `ids` not revoked yet; returns how many this call revoked. */
  async revokeMany(ids: ObjectId[], reason: string, now: Date): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.collection.updateMany({ _id: { $in: ids }, revoked_at: null }, { $set: { revoked_at: now, revoked_reason: reason } });
    return result.modifiedCount;
  }

  /** A page of the user's live sessions (not revoked, not expired), newest first, with the total. */
  async pageLiveForUser(userId: ObjectId, now: Date, skip: number, limit: number): Promise<{ items: SessionDoc[]; total: number }> {
    const filter = { user_id: userId, revoked_at: null, idle_expires_at: { $gt: now }, absolute_expires_at: { $gt: now } };
    const [items, total] = await Promise.all([
      this.collection.find(filter).sort({ created_at: -1, _id: -1 }).skip(skip).limit(limit).toArray(),
      this.collection.countDocuments(filter),
    ]);
    return { items, total };
  }

  // --- Sessions admin and the user's own sessions (issue 17) -------------------------------------

  /**
   * Live sessions at `now` (not revoked, within both lifetimes), newest first, with their total.
   * `tenantIds` narrows to those tenants (a caller's reach, a partner); `tenantId`/`userId` filter.
   */
  async listActive(query: SessionQuery, now: Date, page: { skip: number; limit: number }): Promise<{ items: SessionDoc[]; total: number }> {
    const filter: Filter<SessionDoc> = { revoked_at: null, idle_expires_at: { $gt: now }, absolute_expires_at: { $gt: now } };
    const tenantClauses: Filter<SessionDoc>[] = [];
    if (query.tenantIds) tenantClauses.push({ tenant_id: { $in: query.tenantIds } });
    if (query.tenantId) tenantClauses.push({ tenant_id: query.tenantId });
    if (tenantClauses.length === 1) Object.assign(filter, tenantClauses[0]);
    else if (tenantClauses.length > 1) filter.$and = tenantClauses;
    if (query.userId) filter.user_id = query.userId;
    const [items, total] = await Promise.all([
      this.collection.find(filter).sort({ created_at: -1, _id: -1 }).skip(page.skip).limit(page.limit).toArray(),
      this.collection.countDocuments(filter),
    ]);
    return { items, total };
  }

  /** Revokes every unrevoked session of a tenant (suspended or deleted); returns how many. */
  async revokeAllForTenant(tenantId: ObjectId, reason: string, now: Date): Promise<number> {
    const result = await this.collection.updateMany({ tenant_id: tenantId, revoked_at: null }, { $set: { revoked_at: now, revoked_reason: reason } });
    return result.modifiedCount;
  }
  /** Ids of a tenant's unrevoked sessions (expired ones included), by the tenant_user index. */
  async findUnrevokedIdsForTenant(tenantId: ObjectId): Promise<ObjectId[]> {
    const sessions = await this.collection.find({ tenant_id: tenantId, revoked_at: null }, { projection: { _id: 1 } }).toArray();
    return sessions.map((s) => s._id);
  }
}

/** Filters of SessionStore.listActive. */
export interface SessionQuery {
  tenantIds?: ObjectId[];
  tenantId?: ObjectId;
  userId?: ObjectId;
}
