import { ObjectId } from 'mongodb';
import type { UserStore } from '../../store/users.ts';
import type { WebAuthnCredentialDoc, WebAuthnCredentialStore } from '../../store/webauthn-credentials.ts';
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
    private readonly credentials: WebAuthnCredentialStore,
    private readonly users: UserStore,
    private readonly clock: Clock,
  ) {}

  listForUser(userId: ObjectId, tenantId: ObjectId): Promise<WebAuthnCredentialDoc[]> {
    return this.credentials.listForUser(userId, tenantId);
  }

  /** By our id (hex) or by the authenticator's credential ID, only among this user's credentials. */
  async findForUser(userId: ObjectId, tenantId: ObjectId, key: { id?: string; credentialId?: string }): Promise<WebAuthnCredentialDoc | null> {
    if (key.id !== undefined) {
      if (!/^[0-9a-f]{24}$/i.test(key.id)) return null;
      return this.credentials.findForUserById(userId, tenantId, new ObjectId(key.id));
    }
    if (!key.credentialId) return null;
    return this.credentials.findForUserByCredentialId(userId, tenantId, key.credentialId);
  }

  async insert(doc: WebAuthnCredentialDoc): Promise<void> {
    if (!(await this.credentials.insert(doc))) throw new DuplicateCredentialError('credential already registered');
    await this.users.adjustWebauthnCount(doc.user_id, 1, this.clock.now());
  }

  async rename(doc: WebAuthnCredentialDoc, name: string): Promise<WebAuthnCredentialDoc | null> {
    return this.credentials.rename(doc._id, doc.user_id, name);
  }

  /** True when this call removed it (a concurrent removal counts once). */
  async remove(doc: WebAuthnCredentialDoc): Promise<boolean> {
    if (!(await this.credentials.delete(doc._id, doc.user_id))) return false;
    await this.users.adjustWebauthnCount(doc.user_id, -1, this.clock.now());
    return true;
  }

  /**
   * Records a verified assertion. The counter must move forward from what is stored, checked in
   * the update's filter, so two racing assertions with the same counter cannot both succeed.
   * Authenticators without a counter always report 0 and stay at 0.
   */
  async recordUse(doc: WebAuthnCredentialDoc, newCounter: number, backedUp: boolean): Promise<boolean> {
    return this.credentials.recordUse(doc._id, newCounter, backedUp, this.clock.now());
  }
}
