import type { Collection, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';

/** What a user allowed one app (Authorized Apps); `_id` is `<user id>:<client_id>`. */
export interface ConsentDoc {
  _id: string;
  tenant_id: ObjectId;
  user_id: ObjectId;
  client_id: string;
  scopes: string[];
  created_at: Date;
  updated_at: Date;
}

export const consentsCollection = defineCollection<ConsentDoc>({
  name: 'consents',
  indexes: [{ key: { user_id: 1, updated_at: -1 }, name: 'user_updated' }],
});

export class ConsentStore {
  constructor(private readonly consents: Collection<ConsentDoc>) {}

  find(userId: ObjectId, clientId: string): Promise<ConsentDoc | null> {
    return this.consents.findOne({ _id: `${userId.toHexString()}:${clientId}` });
  }

  listForUser(userId: ObjectId): Promise<ConsentDoc[]> {
    return this.consents.find({ user_id: userId }).sort({ updated_at: -1 }).limit(500).toArray();
  }

  /** Adds scopes to the consent (creating it): one upsert, so concurrent grants merge. */
  async grant(tenantId: ObjectId, userId: ObjectId, clientId: string, scopes: string[], now: Date): Promise<void> {
    await this.consents.updateOne(
      { _id: `${userId.toHexString()}:${clientId}` },
      { $addToSet: { scopes: { $each: scopes } }, $set: { updated_at: now }, $setOnInsert: { tenant_id: tenantId, user_id: userId, client_id: clientId, created_at: now } },
      { upsert: true },
    );
  }

  /** True when this call removed it. */
  async revoke(userId: ObjectId, clientId: string): Promise<boolean> {
    const result = await this.consents.deleteOne({ _id: `${userId.toHexString()}:${clientId}` });
    return result.deletedCount === 1;
  }
}
