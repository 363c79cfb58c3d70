import type { Collection, ObjectId } from 'mongodb';
import { defineCollection } from './collection.ts';
import { isDuplicateKey } from './duplicate-key.ts';

export interface WebAuthnCredentialDoc {
  _id: ObjectId;
  tenant_id: ObjectId;
  user_id: ObjectId;
  /** The authenticator's credential ID, base64url; unique. */
  credential_id: string;
  /** COSE public key, base64url. */
  public_key: string;
  /** Signature counter last seen; 0 for authenticators without one. */
  counter: number;
  transports: string[];
  name: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  aaguid: string;
  rp_id: string;
  created_at: Date;
  last_used_at: Date | null;
}

/** `webauthn_credentials`: its indexes. */
export const webauthnCredentialsCollection = defineCollection<WebAuthnCredentialDoc>({
  name: 'webauthn_credentials',
  indexes: [
    { key: { credential_id: 1 }, name: 'credential_id_unique', unique: true },
    { key: { tenant_id: 1, user_id: 1 }, name: 'tenant_user' },
  ],
});

/** Queries and conditional updates on `webauthn_credentials`; reads are always scoped to the owner. */
export class WebAuthnCredentialStore {
  constructor(private readonly credentials: Collection<WebAuthnCredentialDoc>) {}

  listForUser(userId: ObjectId, tenantId: ObjectId): Promise<WebAuthnCredentialDoc[]> {
    return this.credentials.find({ user_id: userId, tenant_id: tenantId }).sort({ created_at: 1, _id: 1 }).toArray();
  }

  /** By our id, only among this user's credentials. */
  findForUserById(userId: ObjectId, tenantId: ObjectId, id: ObjectId): Promise<WebAuthnCredentialDoc | null> {
    return this.credentials.findOne({ _id: id, user_id: userId, tenant_id: tenantId });
  }

  /** By the authenticator's credential ID, only among this user's credentials. */
  findForUserByCredentialId(userId: ObjectId, tenantId: ObjectId, credentialId: string): Promise<WebAuthnCredentialDoc | null> {
    return this.credentials.findOne({ credential_id: credentialId, user_id: userId, tenant_id: tenantId });
  }

  /** False when the authenticator's credential ID is registered already (to anyone). */
  async insert(credential: WebAuthnCredentialDoc): Promise<boolean> {
    try {
      await this.credentials.insertOne(credential);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** The renamed credential, or null when it is not this user's (or gone). */
  rename(id: ObjectId, userId: ObjectId, name: string): Promise<WebAuthnCredentialDoc | null> {
    return this.credentials.findOneAndUpdate({ _id: id, user_id: userId }, { $set: { name } }, { returnDocument: 'after' });
  }

  /** Deletes every credential of the user (an admin's MFA reset); how many there were. */
  async deleteAllForUser(userId: ObjectId): Promise<number> {
    const result = await this.credentials.deleteMany({ user_id: userId });
    return result.deletedCount;
  }

  /** True when this call deleted it: of racing removals exactly one wins. */
  async delete(id: ObjectId, userId: ObjectId): Promise<boolean> {
    const result = await this.credentials.deleteOne({ _id: id, user_id: userId });
    return result.deletedCount === 1;
  }

  /**
   * Records a verified assertion. A positive counter must exceed the stored one (checked in the
   * filter, so two assertions with the same counter cannot both pass); authenticators without a
   * counter report 0 and must still be at 0.
   */
  async recordUse(id: ObjectId, newCounter: number, backedUp: boolean, now: Date): Promise<boolean> {
    const filter = newCounter > 0 ? { _id: id, counter: { $lt: newCounter } } : { _id: id, counter: 0 };
    const result = await this.credentials.updateOne(filter, { $set: { counter: newCounter, backed_up: backedUp, last_used_at: now } });
    return result.matchedCount === 1;
  }
}
