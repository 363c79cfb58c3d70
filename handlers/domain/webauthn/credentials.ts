import { ObjectId } from 'mongodb';
import type { Database } from '../../store/database.ts';
import type { WebAuthnCredentialDoc } from '../../store/webauthn-credentials.ts';
import type { Clock } from '../../core/clock.ts';

export class DuplicateCredentialError extends Error {
  override name = 'DuplicateCredentialError';
}

/**
 * Registered WebAuthn credentials, one document each (so the signature counter can be updated
 * with a plain conditional update). The user's `mfa.webauthn_count` mirrors how many there are,
 * so sign-in can tell from the user document alone whether the method is available.
 */
export class WebAuthnCredentials {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
  ) {}

  listForUser(userId: ObjectId, tenantId: ObjectId): Promise<WebAuthnCredentialDoc[]> {
    return this.database.webauthnCredentials.find({ user_id: userId, tenant_id: tenantId }).sort({ created_at: 1, _id: 1 }).toArray();
  }

  /** By our id (hex) or by the authenticator's credential ID, only among this user's credentials. */
  async findForUser(userId: ObjectId, tenantId: ObjectId, key: { id?: string; credentialId?: string }): Promise<WebAuthnCredentialDoc | null> {
    if (key.id !== undefined) {
      if (!/^[0-9a-f]{24}$/i.test(key.id)) return null;
      return this.database.webauthnCredentials.findOne({ _id: new ObjectId(key.id), user_id: userId, tenant_id: tenantId });
    }
    if (!key.credentialId) return null;
    return this.database.webauthnCredentials.findOne({ credential_id: key.credentialId, user_id: userId, tenant_id: tenantId });
  }

  async insert(doc: WebAuthnCredentialDoc): Promise<void> {
    try {
      await this.database.webauthnCredentials.insertOne(doc);
    } catch (error) {
      if ((error as { code?: number }).code === 11000) throw new DuplicateCredentialError('credential already registered');
      throw error;
    }
    await this.database.users.updateOne({ _id: doc.user_id }, { $inc: { 'mfa.webauthn_count': 1 }, $set: { updated_at: this.clock.now() } });
  }

  async rename(doc: WebAuthnCredentialDoc, name: string): Promise<WebAuthnCredentialDoc | null> {
    return this.database.webauthnCredentials.findOneAndUpdate({ _id: doc._id, user_id: doc.user_id }, { $set: { name } }, { returnDocument: 'after' });
  }

  /** True when this call removed it (a concurrent removal counts once). */
  async remove(doc: WebAuthnCredentialDoc): Promise<boolean> {
    const result = await this.database.webauthnCredentials.deleteOne({ _id: doc._id, user_id: doc.user_id });
    if (result.deletedCount !== 1) return false;
    await this.database.users.updateOne({ _id: doc.user_id }, { $inc: { 'mfa.webauthn_count': -1 }, $set: { updated_at: this.clock.now() } });
    return true;
  }

  /**
   * Records a verified assertion. The counter must move forward from what is stored, checked in
   * the update's filter, so two racing assertions with the same counter cannot both succeed.
   * Authenticators without a counter always report 0 and stay at 0.
   */
  async recordUse(doc: WebAuthnCredentialDoc, newCounter: number, backedUp: boolean): Promise<boolean> {
    const now = this.clock.now();
    const filter = newCounter > 0 ? { _id: doc._id, counter: { $lt: newCounter } } : { _id: doc._id, counter: 0 };
    const result = await this.database.webauthnCredentials.updateOne(filter, { $set: { counter: newCounter, backed_up: backedUp, last_used_at: now } });
    return result.matchedCount === 1;
  }
}
