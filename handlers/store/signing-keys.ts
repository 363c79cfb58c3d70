import type { Collection } from 'mongodb';
import { defineCollection } from './collection.ts';

export interface SigningKeyDoc {
  _id: string;
  alg: 'ES256' | 'RS256';
  public_jwk: Record<string, unknown>;
  private_jwk_enc: string;
  status: 'active' | 'retired';
  created_at: Date;
  /** Retired keys stay published until every token they signed has expired. */
  publish_until: Date | null;
}

/** `signing_keys`: its indexes. */
export const signingKeysCollection = defineCollection<SigningKeyDoc>({
  name: 'signing_keys',
  indexes: [],
});

/** Reads and writes of `signing_keys`. */
export class SigningKeyStore {
  constructor(private readonly collection: Collection<SigningKeyDoc>) {}

  /** Throws the driver's duplicate-key error (code 11000) when the kid exists already. */
  async insert(key: SigningKeyDoc): Promise<void> {
    await this.collection.insertOne(key);
  }

  /** Retires every active key but `kids`, published until `publishUntil`; returns how many. */
  async retireAllExcept(kids: string[], publishUntil: Date): Promise<number> {
    const result = await this.collection.updateMany({ _id: { $nin: kids }, status: 'active' }, { $set: { status: 'retired', publish_until: publishUntil } });
    return result.modifiedCount;
  }

  /** The keys to publish at `now`: active ones, and retired ones still within publish_until. */
  findPublished(now: Date): Promise<SigningKeyDoc[]> {
    return this.collection.find({ $or: [{ status: 'active' }, { status: 'retired', publish_until: { $gt: now } }] }).toArray();
  }
}
