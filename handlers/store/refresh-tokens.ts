import type { Collection, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export interface RefreshTokenDoc {
  _id: ObjectId;
  token_hash: string;
  tenant_id: ObjectId;
  user_id: ObjectId;
  session_id: ObjectId;
  created_at: Date;
  expires_at: Date;
  rotated_at: Date | null;
  /** The successor, encrypted, kept only so a concurrent tab inside the grace window gets the same one. */
  successor_enc: string | null;
  revoked_at: Date | null;
}

/** `refresh_tokens`: its indexes and expiry. */
export const refreshTokensCollection = defineCollection<RefreshTokenDoc>({
  name: 'refresh_tokens',
  indexes: [
    { key: { token_hash: 1 }, name: 'token_hash_unique', unique: true },
    { key: { session_id: 1 }, name: 'session' },
  ],
  expiry: { field: 'expires_at', marginSeconds: 86_400 },
});

/** Reads and guarded writes of `refresh_tokens`. */
export class RefreshTokenStore {
  constructor(private readonly collection: Collection<RefreshTokenDoc>) {}

  /** Throws the driver's duplicate-key error (code 11000) when the hash exists already. */
  async insert(token: RefreshTokenDoc): Promise<void> {
    await this.collection.insertOne(token);
  }

  /**
   * Inserts the token unless one with its hash exists (a retried rotation storing the same
   * successor twice); true when this call inserted it.
   */
  async insertIfAbsent(token: RefreshTokenDoc): Promise<boolean> {
    try {
      await this.collection.insertOne(token);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  findByHash(tokenHash: string): Promise<RefreshTokenDoc | null> {
    return this.collection.findOne({ token_hash: tokenHash });
  }

  /**
   * Marks the token rotated and records its sealed successor, only if it is unrotated, unrevoked
   * and unexpired at `now`: of concurrent claims exactly one gets the document (after the update).
   */
  claim(tokenHash: string, now: Date, successorEnc: string): Promise<RefreshTokenDoc | null> {
    return this.collection.findOneAndUpdate(
      { token_hash: tokenHash, rotated_at: null, revoked_at: null, expires_at: { $gt: now } },
      { $set: { rotated_at: now, successor_enc: successorEnc } },
      { returnDocument: 'after' },
    );
  }

  /** Revokes every unrevoked token of these sessions and drops their sealed successors; returns the count. */
  async revokeForSessions(sessionIds: ObjectId[], now: Date): Promise<number> {
    if (sessionIds.length === 0) return 0;
    const filter = sessionIds.length === 1 ? { session_id: sessionIds[0]!, revoked_at: null } : { session_id: { $in: sessionIds }, revoked_at: null };
    const result = await this.collection.updateMany(filter, { $set: { revoked_at: now, successor_enc: null } });
    return result.modifiedCount;
  }
}
