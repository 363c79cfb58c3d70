import type { Collection, ObjectId } from 'mongodb';
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
}

/** `sessions`: its indexes and expiry. */
export const sessionsCollection = defineCollection<SessionDoc>({
  name: 'sessions',
  indexes: [{ key: { tenant_id: 1, user_id: 1 }, name: 'tenant_user' }],
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

  /** True when this call revoked the session (false: unknown or already revoked). */
  async revoke(id: ObjectId, reason: string, now: Date): Promise<boolean> {
    const result = await this.collection.updateOne({ _id: id, revoked_at: null }, { $set: { revoked_at: now, revoked_reason: reason } });
    return result.modifiedCount === 1;
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
}
