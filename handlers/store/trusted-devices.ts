import type { Collection, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

export interface TrustedDeviceDoc {
  _id: ObjectId;
  token_hash: string;
  tenant_id: ObjectId;
  user_id: ObjectId;
  /** Client-supplied hint, kept only to label the device in lists. */
  device_fingerprint: string | null;
  user_agent: string;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date;
  revoked_at: Date | null;
}

/** `trusted_devices`: its indexes and expiry. */
export const trustedDevicesCollection = defineCollection<TrustedDeviceDoc>({
  name: 'trusted_devices',
  indexes: [
    { key: { token_hash: 1 }, name: 'token_hash_unique', unique: true },
    { key: { user_id: 1 }, name: 'user' },
  ],
  expiry: { field: 'expires_at', marginSeconds: 86_400 },
});

/** Reads and guarded writes of `trusted_devices`. */
export class TrustedDeviceStore {
  constructor(private readonly collection: Collection<TrustedDeviceDoc>) {}

  private live(userId: ObjectId, tenantId: ObjectId, now: Date) {
    return { user_id: userId, tenant_id: tenantId, revoked_at: null, expires_at: { $gt: now } };
  }

  /** Throws the driver's duplicate-key error (code 11000) when the token hash exists already. */
  async insert(device: TrustedDeviceDoc): Promise<void> {
    await this.collection.insertOne(device);
  }

  /** True when the token is this user's, unrevoked and unexpired at `now`; records the use in the same update. */
  async use(tokenHash: string, userId: ObjectId, now: Date): Promise<boolean> {
    const result = await this.collection.updateOne(
      { token_hash: tokenHash, user_id: userId, revoked_at: null, expires_at: { $gt: now } },
      { $set: { last_used_at: now } },
    );
    return result.matchedCount === 1;
  }

  /** Revokes every unrevoked device of the user (expired ones too); returns how many. */
  async revokeAllForUser(userId: ObjectId, now: Date): Promise<number> {
    const result = await this.collection.updateMany({ user_id: userId, revoked_at: null }, { $set: { revoked_at: now } });
    return result.modifiedCount;
  }

  /** The user's live devices, newest first, at most `limit`. */
  listLive(userId: ObjectId, tenantId: ObjectId, now: Date, limit: number): Promise<TrustedDeviceDoc[]> {
    return this.collection.find(this.live(userId, tenantId, now)).sort({ created_at: -1, _id: -1 }).limit(limit).toArray();
  }

  countLive(userId: ObjectId, tenantId: ObjectId, now: Date): Promise<number> {
    return this.collection.countDocuments(this.live(userId, tenantId, now));
  }

  /** True when this call revoked that live device of the user. */
  async revokeLive(id: ObjectId, userId: ObjectId, tenantId: ObjectId, now: Date): Promise<boolean> {
    const result = await this.collection.updateOne({ _id: id, ...this.live(userId, tenantId, now) }, { $set: { revoked_at: now } });
    return result.modifiedCount === 1;
  }

  /** Revokes the user's live devices; returns how many this call revoked. */
  async revokeAllLive(userId: ObjectId, tenantId: ObjectId, now: Date): Promise<number> {
    const result = await this.collection.updateMany(this.live(userId, tenantId, now), { $set: { revoked_at: now } });
    return result.modifiedCount;
  }
}
